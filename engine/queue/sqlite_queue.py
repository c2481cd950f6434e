"""The embedded queue backend: one SQLite file in WAL mode, safe for several processes.

Claims run inside ``BEGIN IMMEDIATE`` (one writer at a time, others wait up to the busy
timeout) as a single ``UPDATE ... RETURNING``. Two partial indexes keep it fast however many
settled jobs the table holds: ``(id) WHERE status='todo'`` for the scan and
``(lock_key, id) WHERE status IN ('todo','doing')`` for the per-key order check.
"""

from __future__ import annotations

import json
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from fieldline.errors import ConfigError
from fieldline.queue.jobs import EnqueueGroup, EnqueueResult, JobState, QueueStatus
from fieldline.queue.sql_queue import Failure, SQLJobQueueBase
from fieldline.queue.sql_rows import enqueue_group, queue_status
from fieldline.queue.sqlite_file import SQLiteFile, ThreadConnections, connect_sqlite, sqlite_path_from_url

__all__ = ["SQLiteJobQueue"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS fieldline_jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    source TEXT NOT NULL,
    event_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    lock_key TEXT NOT NULL,
    payload TEXT NOT NULL,
    occurred_at REAL NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    run_after REAL NOT NULL,
    enqueued_at REAL NOT NULL,
    lease_token TEXT,
    lease_until REAL,
    worker_id TEXT,
    finished_at REAL,
    last_error TEXT,
    note TEXT,
    ordering_keys TEXT NOT NULL DEFAULT '[]',
    role TEXT NOT NULL DEFAULT 'trigger',
    tenant TEXT NOT NULL DEFAULT '',
    UNIQUE (source, event_id)
);
CREATE INDEX IF NOT EXISTS fieldline_jobs_todo ON fieldline_jobs (id) WHERE status = 'todo';
CREATE INDEX IF NOT EXISTS fieldline_jobs_live_key
    ON fieldline_jobs (lock_key, id) WHERE status IN ('todo', 'doing');
CREATE INDEX IF NOT EXISTS fieldline_jobs_doing ON fieldline_jobs (lease_until) WHERE status = 'doing';
CREATE INDEX IF NOT EXISTS fieldline_jobs_dead ON fieldline_jobs (finished_at) WHERE status = 'dead';
CREATE INDEX IF NOT EXISTS fieldline_jobs_done ON fieldline_jobs (finished_at) WHERE status = 'done';
CREATE INDEX IF NOT EXISTS fieldline_jobs_ignored ON fieldline_jobs (finished_at) WHERE status = 'ignored';
CREATE INDEX IF NOT EXISTS fieldline_jobs_source_state ON fieldline_jobs (source, status);
CREATE TABLE IF NOT EXISTS fieldline_write_probe (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS fieldline_failures (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    source TEXT NOT NULL DEFAULT '',
    job_id INTEGER NOT NULL,
    event_id TEXT NOT NULL,
    lock_key TEXT NOT NULL,
    error TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    failed_at REAL NOT NULL,
    dead INTEGER NOT NULL
);
"""

# Columns added since the first release, added to older files when they are opened.
_ADDED_COLUMNS = {
    "fieldline_jobs": {
        "ordering_keys": "TEXT NOT NULL DEFAULT '[]'",
        "role": "TEXT NOT NULL DEFAULT 'trigger'",
        "tenant": "TEXT NOT NULL DEFAULT ''",
    },
    "fieldline_failures": {"source": "TEXT NOT NULL DEFAULT ''"},
}

_CLAIM = """
UPDATE fieldline_jobs
SET status = 'doing', attempts = attempts + 1, lease_token = :token, lease_until = :until,
    worker_id = :worker
WHERE id IN (
    SELECT j.id FROM fieldline_jobs AS j
    WHERE j.status = 'todo' AND j.run_after <= :now AND (:source IS NULL OR j.source = :source)
      AND NOT EXISTS (
          SELECT 1 FROM fieldline_jobs AS e
          WHERE e.lock_key = j.lock_key AND e.source = j.source AND e.id < j.id
            AND e.status IN ('todo', 'doing') AND (e.status = 'doing' OR e.run_after > :now)
      )
    ORDER BY j.id
    LIMIT :limit
)
RETURNING id, source, event_id, event_type, lock_key, payload, occurred_at, ordering_keys, role,
    tenant, attempts, enqueued_at
"""

_INSERT = (
    "INSERT INTO fieldline_jobs (source, event_id, event_type, lock_key, payload,"
    " occurred_at, status, run_after, enqueued_at, finished_at, ordering_keys, role, tenant)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (source, event_id) DO NOTHING RETURNING id"
)


class SQLiteJobQueue(SQLJobQueueBase, SQLiteFile):
    """:class:`~fieldline.queue.JobQueue` on one SQLite file (WAL); one connection per thread.

    ``synchronous``: ``FULL`` (default) — every commit is fsynced (one fsync per group commit), so
    an event acknowledged with a 200 survives power loss too: PassFort will not send it again;
    ``NORMAL`` — faster, survives the process being killed or crashing, but the last commits may
    roll back if the machine loses power.
    """

    what = "queue"

    PLACEHOLDER = "?"
    CLAIM = _CLAIM
    COMPLETE = (
        "UPDATE fieldline_jobs SET status = 'done', finished_at = ?, note = ?,"
        " lease_token = NULL, lease_until = NULL"
        " WHERE status = 'doing' AND lease_token = ?"
        " AND id IN (SELECT value FROM json_each(?)) RETURNING id"
    )
    FAIL = (
        "UPDATE fieldline_jobs SET status = ?, run_after = ?, last_error = ?,"
        " finished_at = ?, lease_token = NULL, lease_until = NULL, worker_id = NULL"
        " WHERE id = ? AND status = 'doing' AND lease_token = ? RETURNING id"
    )
    RELEASE = (
        "UPDATE fieldline_jobs SET status = 'todo', attempts = MAX(0, attempts - 1),"
        " run_after = ?, lease_token = NULL, lease_until = NULL, worker_id = NULL"
        " WHERE id = ? AND status = 'doing' AND lease_token = ? RETURNING id"
    )
    EXTEND = (
        "UPDATE fieldline_jobs SET lease_until = ?"
        " WHERE id = ? AND status = 'doing' AND lease_token = ? RETURNING id"
    )
    RECOVER = (
        "UPDATE fieldline_jobs SET"
        " status = CASE WHEN attempts >= :max THEN 'dead' ELSE 'todo' END,"
        " finished_at = CASE WHEN attempts >= :max THEN :now ELSE NULL END,"
        " run_after = :now, last_error = :error,"
        " lease_token = NULL, lease_until = NULL, worker_id = NULL"
        " WHERE status = 'doing' AND lease_until < :now"
        " RETURNING id, event_id, lock_key, attempts, status, source"
    )
    RECOVER_COLUMNS = ("id", "event_id", "lock_key", "attempts", "status", "source")
    TRIM_FAILURES = "DELETE FROM fieldline_failures WHERE id <= ?"
    REQUEUE = (
        "UPDATE fieldline_jobs SET status = 'todo', attempts = {attempts}, run_after = ?,"
        " finished_at = NULL WHERE status = 'dead'"
    )
    REQUEUE_IDS = " AND id IN (SELECT value FROM json_each(?))"
    PURGE = "DELETE FROM fieldline_jobs WHERE status = '{state}' AND finished_at < ?"
    WRITE_PROBE = (
        "INSERT INTO fieldline_write_probe (id, at) VALUES (1, ?)"
        " ON CONFLICT (id) DO UPDATE SET at = excluded.at"
    )

    def __init__(
        self,
        path: str | Path,
        *,
        max_attempts: int = 5,
        backoff_base: float = 1.0,
        backoff_max: float = 300.0,
        synchronous: str = "FULL",
        busy_timeout: float = 30.0,
        recover_interval: float = 1.0,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> None:
        self._init_retries(
            max_attempts=max_attempts,
            backoff_base=backoff_base,
            backoff_max=backoff_max,
            recover_interval=recover_interval,
            clock=clock,
            rng=rng,
        )
        if synchronous.upper() not in {"OFF", "NORMAL", "FULL", "EXTRA"}:
            raise ConfigError(f"unknown SQLite synchronous mode {synchronous!r}", hint="use NORMAL or FULL")
        self.path = str(path)
        self.synchronous = synchronous.upper()
        self.busy_timeout = busy_timeout
        self._connections = ThreadConnections(
            lambda: connect_sqlite(self.path, synchronous=self.synchronous, busy_timeout=self.busy_timeout)
        )
        self._create_tables(SCHEMA)
        self._add_columns()

    def _add_columns(self) -> None:
        with self._transaction() as connection:
            for table, columns in _ADDED_COLUMNS.items():
                present = {row[1] for row in connection.execute(f"PRAGMA table_info({table})")}
                for name, definition in columns.items():
                    if name not in present:
                        connection.execute(f"ALTER TABLE {table} ADD COLUMN {name} {definition}")

    @classmethod
    def from_url(cls, url: str) -> SQLiteJobQueue:
        """Build from ``sqlite:///path?max_attempts=5&synchronous=full``."""
        path, options = sqlite_path_from_url(url)
        kwargs: dict[str, Any] = {}
        try:
            if "max_attempts" in options:
                kwargs["max_attempts"] = int(options["max_attempts"])
            if "backoff_base" in options:
                kwargs["backoff_base"] = float(options["backoff_base"])
            if "backoff_max" in options:
                kwargs["backoff_max"] = float(options["backoff_max"])
        except ValueError as exc:
            raise ConfigError(f"queue URL {url!r}: {exc}", hint="numbers only in the URL options") from exc
        if "synchronous" in options:
            kwargs["synchronous"] = options["synchronous"]
        return cls(path, **kwargs)

    # --- producing ------------------------------------------------------------------------

    def enqueue_groups(self, groups: Sequence[EnqueueGroup]) -> list[EnqueueResult]:
        """Store several requests' events in one transaction (group commit), one result each."""
        now = self.clock()
        with self._transaction() as connection:

            def insert(parameters: tuple[Any, ...]) -> Sequence[Any] | None:
                row: Sequence[Any] | None = connection.execute(_INSERT, parameters).fetchone()
                return row

            return [enqueue_group(group, now, insert) for group in groups]

    # --- the backend's part of :class:`SQLJobQueueBase` ------------------------------------

    def _writing(self, what: str) -> AbstractContextManager[sqlite3.Connection]:
        return self._transaction()

    def _reading(self, what: str, sql: str, parameters: Sequence[Any] = ()) -> list[Any]:
        return self._read(sql, parameters)

    def _id_list(self, ids: list[int]) -> str:
        return json.dumps(ids)

    def _before_claim(self, connection: sqlite3.Connection) -> None:
        """Nothing: ``BEGIN IMMEDIATE`` already makes claims run one at a time."""

    def _insert_failure(self, connection: sqlite3.Connection, failure: Failure) -> int:
        *fields, dead = failure
        cursor = connection.execute(
            "INSERT INTO fieldline_failures (source, job_id, event_id, lock_key, error, attempts,"
            " failed_at, dead) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (*fields, int(dead)),
        )
        return cursor.lastrowid or 0

    # --- inspecting -----------------------------------------------------------------------

    def status(self, *, stalled_after: float = 300.0, source: str | None = None) -> QueueStatus:
        """A snapshot: counts by state, oldest waiting age, last processed, recent failures."""
        now = self.clock()
        # One count per state, each answered from an index (a GROUP BY would read the whole
        # table, which keeps every settled job for dedupe): the state's partial index, or
        # (source, status) for one source.
        of_source, parameters = ("AND source = ?", (source,)) if source is not None else ("", ())
        counts: dict[JobState, int] = {}
        for state in JobState:
            # The state is a literal, not a parameter, so the planner can match the partial index.
            rows = self._read(
                f"SELECT COUNT(*) FROM fieldline_jobs WHERE status = '{state.value}' {of_source}", parameters
            )
            if rows and rows[0][0]:
                counts[state] = int(rows[0][0])
        oldest_row = self._read(
            f"SELECT MIN(enqueued_at) FROM fieldline_jobs WHERE status IN ('todo', 'doing') {of_source}",
            parameters,
        )
        oldest = oldest_row[0][0] if oldest_row else None
        last_row = self._read(
            f"SELECT MAX(finished_at) FROM fieldline_jobs WHERE status = 'done' {of_source}", parameters
        )
        last_processed = last_row[0][0] if last_row else None
        failure_rows = self._read(
            "SELECT job_id, event_id, lock_key, error, attempts, failed_at, dead"
            f" FROM fieldline_failures WHERE 1 = 1 {of_source} ORDER BY id DESC LIMIT 10",
            parameters,
        )
        return queue_status(
            now=now,
            stalled_after=stalled_after,
            counts=counts,
            oldest_enqueued=oldest,
            last_processed=last_processed,
            failure_rows=failure_rows,
        )

    def sources(self) -> list[str]:
        """Every source with jobs in the queue (read from the (source, status) index)."""
        return [row[0] for row in self._read("SELECT DISTINCT source FROM fieldline_jobs ORDER BY source")]

    def wake_on_enqueue(self, wake: threading.Event) -> Callable[[], None]:
        """SQLite cannot tell this process about other processes' commits: workers poll (an
        in-process ``serve`` wakes its workers after each of its own commits)."""
        return _no_op


def _no_op() -> None:
    return None
