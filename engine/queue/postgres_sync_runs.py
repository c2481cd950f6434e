"""Connector logs (:mod:`fieldline.queue.sync_runs`) in PostgreSQL, beside the queue."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from fieldline.queue.postgres_client import PostgresClient
from fieldline.queue.postgres_db import PostgresDatabase
from fieldline.queue.sync_runs import (
    RECORD_COLUMNS,
    RUN_COLUMNS,
    RunStatus,
    SyncRun,
    SyncRunRecord,
    latest_per_spec,
    record_from_row,
    record_row,
    run_from_row,
)

__all__ = ["PostgresSyncRuns"]


class PostgresSyncRuns(PostgresClient):
    """:class:`~fieldline.queue.sync_runs.SyncRunLog` on PostgreSQL (schema version 2)."""

    def __init__(self, database: PostgresDatabase, *, clock: Callable[[], float] = time.time) -> None:
        super().__init__(database)
        self.clock = clock

    def start(
        self, *, spec: str, spec_hash: str, source: str, target: str, options: Mapping[str, Any]
    ) -> int:
        with self.database.transaction("connector log start") as connection:
            row = connection.execute(
                "INSERT INTO fieldline_sync_runs (spec, spec_hash, source, target, started_at, status,"
                " options) VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING id",
                (spec, spec_hash, source, target, self.clock(), RunStatus.RUNNING.value, _json(options)),
            ).fetchone()
        return int(row[0]) if row else 0

    def add(self, run_id: int, records: Iterable[SyncRunRecord]) -> None:
        rows = [record_row(record) for record in records]
        if not rows:
            return
        with self.database.transaction("connector log write") as connection, connection.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO fieldline_sync_run_records ({RECORD_COLUMNS})"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                rows,
            )

    def finish(
        self,
        run_id: int,
        *,
        status: RunStatus,
        counts: Mapping[str, int],
        stop_reason: str | None = None,
        error: str | None = None,
    ) -> None:
        with self.database.transaction("connector log finish") as connection:
            connection.execute(
                "UPDATE fieldline_sync_runs SET ended_at = %s, status = %s, counts = %s, stop_reason = %s,"
                " error = %s WHERE id = %s",
                (self.clock(), status.value, _json(counts), stop_reason, error, run_id),
            )

    def purge(self, before: float) -> int:
        with self.database.transaction("connector log purge") as connection:
            connection.execute(
                "DELETE FROM fieldline_sync_run_records WHERE run_id IN"
                " (SELECT id FROM fieldline_sync_runs WHERE ended_at < %s)",
                (before,),
            )
            return connection.execute(
                "DELETE FROM fieldline_sync_runs WHERE ended_at < %s", (before,)
            ).rowcount

    def runs(self, *, spec: str | None = None, limit: int = 50) -> list[SyncRun]:
        where, parameters = ("WHERE spec = %s", [spec]) if spec is not None else ("", [])
        rows = self.database.read(
            "connector log",
            f"SELECT {RUN_COLUMNS} FROM fieldline_sync_runs {where} ORDER BY id DESC LIMIT %s",
            [*parameters, limit],
        )
        return [run_from_row(row) for row in rows]

    def run(self, run_id: int) -> SyncRun | None:
        rows = self.database.read(
            "connector log", f"SELECT {RUN_COLUMNS} FROM fieldline_sync_runs WHERE id = %s", (run_id,)
        )
        return run_from_row(rows[0]) if rows else None

    def records(
        self, run_id: int, *, errors_only: bool = False, key: str | None = None, limit: int | None = None
    ) -> list[SyncRunRecord]:
        where = ["run_id = %s"]
        parameters: list[Any] = [run_id]
        if errors_only:
            where.append("error IS NOT NULL")
        if key is not None:
            where.append("(key = %s OR document_key = %s)")
            parameters += [key, key]
        rows = self.database.read(
            "connector log",
            f"SELECT {RECORD_COLUMNS} FROM fieldline_sync_run_records WHERE {' AND '.join(where)}"
            " ORDER BY seq LIMIT %s",
            [*parameters, limit],  # LIMIT NULL: no limit
        )
        return [record_from_row(row) for row in rows]

    def latest(self) -> dict[str, tuple[SyncRun | None, SyncRun | None]]:
        rows = self.database.read(
            "connector log",
            f"SELECT {RUN_COLUMNS} FROM fieldline_sync_runs WHERE id IN ("
            " SELECT MAX(id) FROM fieldline_sync_runs WHERE status = 'ok' GROUP BY spec"
            " UNION SELECT MAX(id) FROM fieldline_sync_runs WHERE status IN ('failed', 'stopped')"
            " GROUP BY spec) ORDER BY id DESC",
        )
        return latest_per_spec(run_from_row(row) for row in rows)


def _json(value: Mapping[str, Any]) -> str:
    return json.dumps(dict(value), default=str, sort_keys=True)
