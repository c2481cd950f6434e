"""The run log and the sync state in PostgreSQL (the queue's database)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping

from fieldline.queue.postgres_db import PostgresDatabase
from fieldline.queue.run_store import RunLogEntry, redact

__all__ = ["PostgresRunStore"]


class PostgresRunStore:
    """:class:`~fieldline.queue.run_store.RunStore` on PostgreSQL."""

    def __init__(self, database: PostgresDatabase, *, clock: Callable[[], float] = time.time) -> None:
        self.database = database.acquire()
        self.clock = clock
        self._closed = False

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self.database.release()

    # --- writing --------------------------------------------------------------------------

    def record(
        self, entries: Iterable[RunLogEntry], *, source: str = "", applied: Mapping[str, float] | None = None
    ) -> None:
        now = self.clock()
        rows = [
            (
                entry.at or now,
                entry.source or source,
                entry.entity_key,
                json.dumps(list(entry.event_ids)),
                json.dumps(list(entry.job_ids)),
                entry.record,
                entry.key,
                entry.object,
                entry.action,
                entry.target_id,
                json.dumps(redact(dict(entry.written)), default=str, sort_keys=True),
                entry.error,
            )
            for entry in entries
        ]
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
        conditions: list[str] = []
        parameters: list[object] = []
        if source is not None:
            conditions.append("source = %s")
            parameters.append(source)
        if entity is not None:
            conditions.append("entity_key = %s")
            parameters.append(entity)
        where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
        rows = self.database.read(
            "run log",
            "SELECT id, at, source, entity_key, event_ids, job_ids, record, key, object, action,"
            f" target_id, written, error FROM fieldline_run_log {where} ORDER BY id DESC LIMIT %s",
            [*parameters, limit],
        )
        return [
            RunLogEntry(
                id=int(row[0]),
                at=float(row[1]),
                source=row[2],
                entity_key=row[3],
                event_ids=tuple(json.loads(row[4])),
                job_ids=tuple(json.loads(row[5])),
                record=row[6],
                key=row[7],
                object=row[8],
                action=row[9],
                target_id=row[10],
                written=json.loads(row[11]),
                error=row[12],
            )
            for row in rows
        ]
