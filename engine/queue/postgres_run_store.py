"""The run log and the sync state in PostgreSQL (the queue's database)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping

from fieldline.queue.postgres_client import PostgresClient
from fieldline.queue.postgres_db import PostgresDatabase
from fieldline.queue.run_store import RunLogEntry
from fieldline.queue.sql_rows import run_log_entry_from_row, run_log_filter, run_log_row

__all__ = ["PostgresRunStore"]


class PostgresRunStore(PostgresClient):
    """:class:`~fieldline.queue.run_store.RunStore` on PostgreSQL."""

    def __init__(self, database: PostgresDatabase, *, clock: Callable[[], float] = time.time) -> None:
        super().__init__(database)
        self.clock = clock

    # --- writing --------------------------------------------------------------------------

    def record(
        self, entries: Iterable[RunLogEntry], *, source: str = "", applied: Mapping[str, float] | None = None
    ) -> None:
        now = self.clock()
        rows = [run_log_row(entry, source=source, now=now) for entry in entries]
        # Sorted keys: two workers raising overlapping versions lock the rows in one order.
        versions = sorted((applied or {}).items())
        with self.database.transaction("run log write") as connection, connection.cursor() as cursor:
            if rows:
                cursor.executemany(
                    "INSERT INTO fieldline_run_log (at, source, entity_key, event_ids, job_ids, record,"
                    " key, object, action, target_id, written, error)"
                    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                    rows,
                )
            if versions:
                cursor.executemany(
                    "INSERT INTO fieldline_versions (source, ordering_key, applied_version, applied_at)"
                    " VALUES (%s, %s, %s, %s) ON CONFLICT (source, ordering_key) DO UPDATE SET"
                    " applied_version = GREATEST(fieldline_versions.applied_version,"
                    " excluded.applied_version), applied_at = excluded.applied_at",
                    [(source, key, version, now) for key, version in versions],
                )

    def purge(self, before: float) -> int:
        with self.database.transaction("run log purge") as connection:
            return connection.execute("DELETE FROM fieldline_run_log WHERE at < %s", (before,)).rowcount

    # --- reading --------------------------------------------------------------------------

    def applied_versions(self, source: str, keys: Iterable[str]) -> dict[str, float]:
        unique = list(dict.fromkeys(keys))
        if not unique:
            return {}
        rows = self.database.read(
            "sync state",
            "SELECT ordering_key, applied_version FROM fieldline_versions"
            " WHERE source = %s AND ordering_key = ANY(%s)",
            (source, unique),
        )
        return {row[0]: float(row[1]) for row in rows}

    def entries(
        self, *, source: str | None = None, entity: str | None = None, limit: int = 50
    ) -> list[RunLogEntry]:
        where, parameters = run_log_filter(source, entity, "%s")
        rows = self.database.read(
            "run log",
            "SELECT id, at, source, entity_key, event_ids, job_ids, record, key, object, action,"
            f" target_id, written, error FROM fieldline_run_log {where} ORDER BY id DESC LIMIT %s",
            [*parameters, limit],
        )
        return [run_log_entry_from_row(row) for row in rows]
