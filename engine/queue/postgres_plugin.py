"""The PostgreSQL storage backend (``fieldline[postgresql]``): ``--db postgresql://...``.

The queue, the run log and the sync state in one database several machines share. The schema
is created and migrated by ``fieldline db upgrade`` (:mod:`fieldline.queue.postgres_schema`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from fieldline.errors import ConfigError
from fieldline.plugins.hookspecs import hookimpl

if TYPE_CHECKING:  # the storage module loads when a backend opens, not when it registers
    from fieldline.queue.postgres_db import PostgresDatabase
    from fieldline.queue.storage import Storage, StorageFactory

__all__ = ["open_postgres_database", "open_postgres_storage", "register_storage_backends"]


@hookimpl
def register_storage_backends() -> Mapping[str, StorageFactory]:
    """``postgresql://user@host/db`` (or ``postgres://``) -> queue, run log and sync state there."""
    return {"postgresql": open_postgres_storage, "postgres": open_postgres_storage}


def _number(options: Mapping[str, str], key: str, default: float) -> float:
    try:
        return float(options.get(key, default))
    except ValueError as exc:
        raise ConfigError(
            f"storage URL option {key}={options[key]!r} is not a number",
            hint="numbers only in the URL options",
        ) from exc


def open_postgres_database(url: str) -> PostgresDatabase:
    """The connection pool on ``url`` (``pool_min``, ``pool_max``, ``pool_timeout`` options)."""
    try:
        from fieldline.queue.postgres_db import PostgresDatabase, split_url
    except ImportError as exc:  # psycopg is an optional dependency
        raise ConfigError(
            f"the PostgreSQL backend needs psycopg: {exc}", hint="pip install 'fieldline[postgresql]'"
        ) from exc
    _, options = split_url(url)
    return PostgresDatabase(
        url,
        pool_min=int(_number(options, "pool_min", 1)),
        pool_max=int(_number(options, "pool_max", 8)),
        pool_timeout=_number(options, "pool_timeout", 5.0),
    )


def open_postgres_storage(url: str) -> Storage:
    """The queue, the run store and the connector logs on the database ``url`` names; its
    schema must be current."""
    from fieldline.queue.postgres_db import split_url
    from fieldline.queue.postgres_queue import PostgresJobQueue
    from fieldline.queue.postgres_run_store import PostgresRunStore
    from fieldline.queue.postgres_schema import check_schema
    from fieldline.queue.postgres_sync_runs import PostgresSyncRuns

    _, options = split_url(url)
    database = open_postgres_database(url).acquire()
    try:
        check_schema(database)
        queue = PostgresJobQueue(
            database,
            max_attempts=int(_number(options, "max_attempts", 5)),
            backoff_base=_number(options, "backoff_base", 1.0),
            backoff_max=_number(options, "backoff_max", 300.0),
        )
        runs = PostgresRunStore(database)
        sync_runs = PostgresSyncRuns(database)
    finally:
        database.release()  # the queue and the stores hold it now (or nobody does)
    from fieldline.queue.storage import Storage

    return Storage(queue=queue, runs=runs, url=url, sync_runs=sync_runs)
