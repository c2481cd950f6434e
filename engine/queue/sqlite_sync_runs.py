"""Connector logs (:mod:`fieldline.queue.sync_runs`) in SQLite, beside the queue in its file."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from fieldline.queue.sqlite_file import SQLiteFile, ThreadConnections, connect_sqlite
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

__all__ = ["SQLiteSyncRuns"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS fieldline_sync_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    spec TEXT NOT NULL,
    spec_hash TEXT NOT NULL,
    source TEXT NOT NULL,
    target TEXT NOT NULL,
    started_at REAL NOT NULL,
    ended_at REAL,
    status TEXT NOT NULL,
    counts TEXT NOT NULL DEFAULT '{}',
    stop_reason TEXT,
    error TEXT,
    options TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS fieldline_sync_runs_spec ON fieldline_sync_runs (spec, id);
CREATE TABLE IF NOT EXISTS fieldline_sync_run_records (
    run_id INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    record TEXT NOT NULL,
    key TEXT NOT NULL,
    document_key TEXT NOT NULL,
    object TEXT NOT NULL,
    action TEXT NOT NULL,
    target_id TEXT,
    error TEXT,
    stage TEXT,
    retriable INTEGER NOT NULL,
    written TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS fieldline_sync_run_records_key ON fieldline_sync_run_records (run_id, key);
CREATE INDEX IF NOT EXISTS fieldline_sync_run_records_document
    ON fieldline_sync_run_records (run_id, document_key)
"""


class SQLiteSyncRuns(SQLiteFile):
    """:class:`~fieldline.queue.sync_runs.SyncRunLog` on one SQLite file."""

    what = "connector log"

    def __init__(self, path: str | Path, *, clock: Callable[[], float] = time.time) -> None:
        self.path = str(path)
        self.clock = clock
        self._connections = ThreadConnections(lambda: connect_sqlite(self.path, synchronous="NORMAL"))
        self._create_tables(SCHEMA)

    # --- writing --------------------------------------------------------------------------

    def start(
        self, *, spec: str, spec_hash: str, source: str, target: str, options: Mapping[str, Any]
    ) -> int:
        with self._transaction() as connection:
            cursor = connection.execute(
                "INSERT INTO fieldline_sync_runs (spec, spec_hash, source, target, started_at, status,"
                " options) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (spec, spec_hash, source, target, self.clock(), RunStatus.RUNNING.value, _json(options)),
            )
            return int(cursor.lastrowid or 0)

    def add(self, run_id: int, records: Iterable[SyncRunRecord]) -> None:
        rows = [record_row(record) for record in records]
        if not rows:
            return
        with self._transaction() as connection:
            connection.executemany(
                f"INSERT INTO fieldline_sync_run_records ({RECORD_COLUMNS})"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
        with self._transaction() as connection:
            connection.execute(
                "UPDATE fieldline_sync_runs SET ended_at = ?, status = ?, counts = ?, stop_reason = ?,"
                " error = ? WHERE id = ?",
                (self.clock(), status.value, _json(counts), stop_reason, error, run_id),
            )

    def purge(self, before: float) -> int:
        with self._transaction() as connection:
            connection.execute(
                "DELETE FROM fieldline_sync_run_records WHERE run_id IN"
                " (SELECT id FROM fieldline_sync_runs WHERE ended_at < ?)",
                (before,),
            )
            return connection.execute(
                "DELETE FROM fieldline_sync_runs WHERE ended_at < ?", (before,)
            ).rowcount

    # --- reading --------------------------------------------------------------------------

    def runs(self, *, spec: str | None = None, limit: int = 50) -> list[SyncRun]:
        where, parameters = ("WHERE spec = ?", [spec]) if spec is not None else ("", [])
        rows = self._read(
            f"SELECT {RUN_COLUMNS} FROM fieldline_sync_runs {where} ORDER BY id DESC LIMIT ?",
            [*parameters, limit],
        )
        return [run_from_row(row) for row in rows]

    def run(self, run_id: int) -> SyncRun | None:
        rows = self._read(f"SELECT {RUN_COLUMNS} FROM fieldline_sync_runs WHERE id = ?", (run_id,))
        return run_from_row(rows[0]) if rows else None

    def records(
        self, run_id: int, *, errors_only: bool = False, key: str | None = None, limit: int | None = None
    ) -> list[SyncRunRecord]:
        where = ["run_id = ?"]
        parameters: list[Any] = [run_id]
        if errors_only:
            where.append("error IS NOT NULL")
        if key is not None:
            where.append("(key = ? OR document_key = ?)")
            parameters += [key, key]
        rows = self._read(
            f"SELECT {RECORD_COLUMNS} FROM fieldline_sync_run_records WHERE {' AND '.join(where)}"
            " ORDER BY seq LIMIT ?",
            [*parameters, -1 if limit is None else limit],
        )
        return [record_from_row(row) for row in rows]

    def latest(self) -> dict[str, tuple[SyncRun | None, SyncRun | None]]:
        # The newest successful and the newest failed run of each spec, in one read.
        rows = self._read(
            f"SELECT {RUN_COLUMNS} FROM fieldline_sync_runs WHERE id IN ("
            " SELECT MAX(id) FROM fieldline_sync_runs WHERE status = 'ok' GROUP BY spec"
            " UNION SELECT MAX(id) FROM fieldline_sync_runs WHERE status IN ('failed', 'stopped')"
            " GROUP BY spec) ORDER BY id DESC"
        )
        return latest_per_spec(run_from_row(row) for row in rows)


def _json(value: Mapping[str, Any]) -> str:
    return json.dumps(dict(value), default=str, sort_keys=True)
