"""The run log and the sync state in SQLite (by default the queue's own file)."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from fieldline.queue.run_store import RunLogEntry
from fieldline.queue.sql_rows import run_log_entry_from_row, run_log_filter, run_log_row
from fieldline.queue.sqlite_file import SQLiteFile, ThreadConnections, connect_sqlite

__all__ = ["SQLiteRunStore"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS fieldline_run_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at REAL NOT NULL,
    source TEXT NOT NULL DEFAULT '',
    entity_key TEXT NOT NULL,
    event_ids TEXT NOT NULL,
    job_ids TEXT NOT NULL,
    record TEXT,
    key TEXT,
    object TEXT,
    action TEXT NOT NULL,
    target_id TEXT,
    written TEXT NOT NULL,
    error TEXT
);
CREATE INDEX IF NOT EXISTS fieldline_run_log_entity ON fieldline_run_log (entity_key, id);
CREATE TABLE IF NOT EXISTS fieldline_versions (
    source TEXT NOT NULL,
    ordering_key TEXT NOT NULL,
    applied_version REAL NOT NULL,
    applied_at REAL NOT NULL,
    PRIMARY KEY (source, ordering_key)
) WITHOUT ROWID
"""


def _upgrade_run_log(connection: sqlite3.Connection) -> None:
    """Files written before run logs named their source: ``profile_key`` -> ``entity_key``,
    plus a ``source`` column. (The old per-profile version tables are left unused: versions
    only spare work for trigger sources, which fetch the current state anyway.)"""
    columns = {row[1] for row in connection.execute("PRAGMA table_info(fieldline_run_log)")}
    if "profile_key" in columns:
        connection.execute("DROP INDEX IF EXISTS fieldline_run_log_profile")
        connection.execute("ALTER TABLE fieldline_run_log RENAME COLUMN profile_key TO entity_key")
    if columns and "source" not in columns:
        connection.execute("ALTER TABLE fieldline_run_log ADD COLUMN source TEXT NOT NULL DEFAULT ''")


class SQLiteRunStore(SQLiteFile):
    """:class:`~fieldline.queue.run_store.RunStore` on one SQLite file; one connection per thread.

    ``synchronous`` stays ``NORMAL`` here even when the queue in the same file is ``FULL``: the
    worker records a job's log and versions *before* completing the job, and the queue's fsync of
    that completion flushes the shared WAL, these earlier frames included.
    """

    what = "run log"

    def __init__(
        self, path: str | Path, *, synchronous: str = "NORMAL", clock: Callable[[], float] = time.time
    ) -> None:
        self.path = str(path)
        self.synchronous = synchronous
        self.clock = clock
        self._connections = ThreadConnections(lambda: connect_sqlite(self.path, synchronous=self.synchronous))
        with self._transaction() as connection:
            _upgrade_run_log(connection)
        self._create_tables(SCHEMA)

    # --- writing --------------------------------------------------------------------------

    def record(
        self, entries: Iterable[RunLogEntry], *, source: str = "", applied: Mapping[str, float] | None = None
    ) -> None:
        now = self.clock()
        with self._transaction() as connection:
            connection.executemany(
                "INSERT INTO fieldline_run_log (at, source, entity_key, event_ids, job_ids, record, key,"
                " object, action, target_id, written, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [run_log_row(entry, source=source, now=now) for entry in entries],
            )
            connection.executemany(
                "INSERT INTO fieldline_versions (source, ordering_key, applied_version, applied_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (source, ordering_key) DO UPDATE SET"
                " applied_version = MAX(applied_version, excluded.applied_version),"
                " applied_at = excluded.applied_at",
                [(source, key, version, now) for key, version in (applied or {}).items()],
            )

    def purge(self, before: float) -> int:
        with self._transaction() as connection:
            return connection.execute("DELETE FROM fieldline_run_log WHERE at < ?", (before,)).rowcount

    # --- reading --------------------------------------------------------------------------

    def applied_versions(self, source: str, keys: Iterable[str]) -> dict[str, float]:
        unique = list(dict.fromkeys(keys))
        if not unique:
            return {}
        rows = self._read(
            "SELECT ordering_key, applied_version FROM fieldline_versions"
            " WHERE source = ? AND ordering_key IN (SELECT value FROM json_each(?))",
            (source, json.dumps(unique)),
        )
        return {row[0]: float(row[1]) for row in rows}

    def entries(
        self, *, source: str | None = None, entity: str | None = None, limit: int = 50
    ) -> list[RunLogEntry]:
        where, parameters = run_log_filter(source, entity, "?")
        rows = self._read(
            "SELECT id, at, source, entity_key, event_ids, job_ids, record, key, object, action,"
            f" target_id, written, error FROM fieldline_run_log {where} ORDER BY id DESC LIMIT ?",
            [*parameters, limit],
        )
        return [run_log_entry_from_row(row) for row in rows]
