"""Connector logs (:mod:`fieldline.queue.sync_runs`) in SQLite, beside the queue in its file."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fieldline.queue.sql_sync_runs import SQLSyncRunsBase
from fieldline.queue.sqlite_file import SQLiteFile, ThreadConnections, connect_sqlite

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
    explanation TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS fieldline_sync_run_records_key ON fieldline_sync_run_records (run_id, key);
CREATE INDEX IF NOT EXISTS fieldline_sync_run_records_document
    ON fieldline_sync_run_records (run_id, document_key)
"""


class SQLiteSyncRuns(SQLSyncRunsBase, SQLiteFile):
    """:class:`~fieldline.queue.sync_runs.SyncRunLog` on one SQLite file."""

    what = "connector log"
    PLACEHOLDER = "?"

    def __init__(self, path: str | Path, *, clock: Callable[[], float] = time.time) -> None:
        self.path = str(path)
        self.clock = clock
        self._connections = ThreadConnections(lambda: connect_sqlite(self.path, synchronous="NORMAL"))
        self._create_tables(SCHEMA)

    @contextmanager
    def _writing(self, what: str) -> Iterator[sqlite3.Connection]:
        with self._transaction() as connection:
            yield connection

    def _reading(self, sql: str, parameters: Sequence[Any] = ()) -> list[Any]:
        return self._read(sql, parameters)

    def _insert_many(self, connection: Any, sql: str, rows: list[tuple[Any, ...]]) -> None:
        connection.executemany(sql, rows)
