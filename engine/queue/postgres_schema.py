"""The PostgreSQL schema, versioned: created and migrated by ``fieldline db upgrade``, never
silently when a process opens the database (several machines share it, and a schema change is
an operator's decision). Opening a database whose schema is missing or older than this release
is a :class:`~fieldline.errors.ConfigError` saying what to run.

Times are epoch seconds (``double precision``) written by fieldline, not ``now()``: the queue's
clock is injectable, and all processes compare the same kind of number.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from fieldline.errors import ConfigError

if TYPE_CHECKING:
    import psycopg

    from fieldline.queue.postgres_db import PostgresDatabase

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "check_schema", "schema_version", "upgrade"]

_JOBS = """
CREATE TABLE fieldline_jobs (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source text NOT NULL,
    event_id text NOT NULL,
    event_type text NOT NULL,
    lock_key text NOT NULL,
    payload text NOT NULL,
    occurred_at double precision NOT NULL,
    status text NOT NULL,
    attempts integer NOT NULL DEFAULT 0,
    run_after double precision NOT NULL,
    enqueued_at double precision NOT NULL,
    lease_token text,
    lease_until double precision,
    worker_id text,
    finished_at double precision,
    last_error text,
    note text,
    ordering_keys text NOT NULL DEFAULT '[]',
    role text NOT NULL DEFAULT 'trigger',
    CONSTRAINT fieldline_jobs_event UNIQUE (source, event_id)
);
CREATE INDEX fieldline_jobs_todo ON fieldline_jobs (id) WHERE status = 'todo';
CREATE INDEX fieldline_jobs_todo_key ON fieldline_jobs (source, lock_key, id) WHERE status = 'todo';
CREATE INDEX fieldline_jobs_doing_key ON fieldline_jobs (source, lock_key) WHERE status = 'doing';
CREATE INDEX fieldline_jobs_doing ON fieldline_jobs (lease_until) WHERE status = 'doing';
CREATE INDEX fieldline_jobs_dead ON fieldline_jobs (finished_at) WHERE status = 'dead';
CREATE INDEX fieldline_jobs_done ON fieldline_jobs (finished_at) WHERE status = 'done';
CREATE INDEX fieldline_jobs_ignored ON fieldline_jobs (finished_at) WHERE status = 'ignored';
CREATE INDEX fieldline_jobs_source_state ON fieldline_jobs (source, status);
CREATE TABLE fieldline_failures (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source text NOT NULL DEFAULT '',
    job_id bigint NOT NULL,
    event_id text NOT NULL,
    lock_key text NOT NULL,
    error text NOT NULL,
    attempts integer NOT NULL,
    failed_at double precision NOT NULL,
    dead boolean NOT NULL
);
CREATE INDEX fieldline_failures_source ON fieldline_failures (source, id);
CREATE TABLE fieldline_run_log (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at double precision NOT NULL,
    source text NOT NULL DEFAULT '',
    entity_key text NOT NULL,
    event_ids text NOT NULL,
    job_ids text NOT NULL,
    record text,
    key text,
    object text,
    action text NOT NULL,
    target_id text,
    written text NOT NULL,
    error text
);
CREATE INDEX fieldline_run_log_entity ON fieldline_run_log (entity_key, id);
CREATE INDEX fieldline_run_log_source ON fieldline_run_log (source, id);
CREATE INDEX fieldline_run_log_at ON fieldline_run_log (at);
CREATE TABLE fieldline_versions (
    source text NOT NULL,
    ordering_key text NOT NULL,
    applied_version double precision NOT NULL,
    applied_at double precision NOT NULL,
    PRIMARY KEY (source, ordering_key)
);
CREATE TABLE fieldline_write_probe (
    id integer PRIMARY KEY,
    at double precision NOT NULL
)
"""

# Connector logs of `fieldline sync` runs (fieldline.queue.sync_runs).
_SYNC_RUNS = """
CREATE TABLE fieldline_sync_runs (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    spec text NOT NULL,
    spec_hash text NOT NULL,
    source text NOT NULL,
    target text NOT NULL,
    started_at double precision NOT NULL,
    ended_at double precision,
    status text NOT NULL,
    counts text NOT NULL DEFAULT '{}',
    stop_reason text,
    error text,
    options text NOT NULL DEFAULT '{}'
);
CREATE INDEX fieldline_sync_runs_spec ON fieldline_sync_runs (spec, id);
CREATE TABLE fieldline_sync_run_records (
    run_id bigint NOT NULL,
    seq integer NOT NULL,
    record text NOT NULL,
    key text NOT NULL,
    document_key text NOT NULL,
    object text NOT NULL,
    action text NOT NULL,
    target_id text,
    error text,
    stage text,
    retriable boolean NOT NULL,
    written text NOT NULL,
    explanation text NOT NULL DEFAULT '{}',
    PRIMARY KEY (run_id, seq)
);
CREATE INDEX fieldline_sync_run_records_key ON fieldline_sync_run_records (run_id, key);
CREATE INDEX fieldline_sync_run_records_document ON fieldline_sync_run_records (run_id, document_key)
"""

# version -> the statements that bring the schema from the version before to it. Append only.
# 3: the tenant whose target connection a job is written through (``""``: the spec's target).
MIGRATIONS: dict[int, str] = {
    1: _JOBS,
    2: _SYNC_RUNS,
    3: "ALTER TABLE fieldline_jobs ADD COLUMN tenant text NOT NULL DEFAULT ''",
}
SCHEMA_VERSION = max(MIGRATIONS)

_VERSION_TABLE = """
CREATE TABLE IF NOT EXISTS fieldline_schema_version (
    version integer PRIMARY KEY,
    applied_at double precision NOT NULL
)
"""


def _upgrade_command(where: str) -> str:
    return f"run `fieldline db upgrade --db '{where}'` once (from any one machine), then start again"


def schema_version(connection: psycopg.Connection[tuple[Any, ...]]) -> int | None:
    """The schema version of the database (``None``: fieldline never upgraded it)."""
    exists = connection.execute("SELECT to_regclass('fieldline_schema_version') IS NOT NULL").fetchone()
    if not exists or not exists[0]:
        return None
    row = connection.execute("SELECT max(version) FROM fieldline_schema_version").fetchone()
    return int(row[0]) if row and row[0] is not None else None


def check_schema(database: PostgresDatabase) -> None:
    """Refuse a database this release cannot use, saying what to do."""
    with database.transaction("schema check") as connection:
        version = schema_version(connection)
    if version is None:
        raise ConfigError(
            f"{database.where}: the database has no fieldline tables yet",
            hint=_upgrade_command(database.where),
        )
    if version < SCHEMA_VERSION:
        raise ConfigError(
            f"{database.where}: the fieldline schema is at version {version}, this release needs"
            f" {SCHEMA_VERSION}",
            hint=_upgrade_command(database.where),
        )
    if version > SCHEMA_VERSION:
        raise ConfigError(
            f"{database.where}: the fieldline schema is at version {version}, newer than this"
            f" release knows ({SCHEMA_VERSION})",
            hint="upgrade fieldline on this machine to the release the others run",
        )


def upgrade(database: PostgresDatabase) -> tuple[int | None, int]:
    """Bring the schema to :data:`SCHEMA_VERSION` in one transaction; returns (before, after).

    An advisory lock makes two upgrades started at once run one after the other (the second
    finds nothing to do)."""
    with database.transaction("schema upgrade") as connection:
        connection.execute("SELECT pg_advisory_xact_lock(hashtext('fieldline_schema_upgrade'))")
        connection.execute(_VERSION_TABLE)
        before = schema_version(connection)
        if before is not None and before > SCHEMA_VERSION:
            raise ConfigError(
                f"{database.where}: the fieldline schema is at version {before}, newer than this"
                f" release knows ({SCHEMA_VERSION})",
                hint="run `fieldline db upgrade` with the newest fieldline release",
            )
        for version in sorted(MIGRATIONS):
            if before is not None and version <= before:
                continue
            for statement in MIGRATIONS[version].split(";"):
                if statement.strip():
                    connection.execute(statement.encode())
            connection.execute(
                "INSERT INTO fieldline_schema_version (version, applied_at) VALUES (%s, %s)",
                (version, time.time()),
            )
    return before, SCHEMA_VERSION
