"""Connector logs (:mod:`fieldline.queue.sync_runs`) in PostgreSQL, beside the queue."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any

from fieldline.queue.postgres_client import PostgresClient
from fieldline.queue.postgres_db import PostgresDatabase
from fieldline.queue.sql_sync_runs import SQLSyncRunsBase

__all__ = ["PostgresSyncRuns"]


class PostgresSyncRuns(SQLSyncRunsBase, PostgresClient):
    """:class:`~fieldline.queue.sync_runs.SyncRunLog` on PostgreSQL (schema version 2)."""

    PLACEHOLDER = "%s"

    def __init__(self, database: PostgresDatabase, *, clock: Callable[[], float] = time.time) -> None:
        super().__init__(database)
        self.clock = clock

    def _writing(self, what: str) -> AbstractContextManager[Any]:
        return self.database.transaction(what)

    def _reading(self, sql: str, parameters: Sequence[Any] = ()) -> list[Any]:
        return self.database.read("connector log", sql, parameters)

    def _insert_many(self, connection: Any, sql: str, rows: list[tuple[Any, ...]]) -> None:
        with connection.cursor() as cursor:
            cursor.executemany(sql, rows)
