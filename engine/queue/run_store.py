"""The run log and the sync state, in SQLite (by default the queue's own file).

Run log: one row per processed record (or per settled job when nothing was written): when,
which events, which profile, which spec record and key, what action, the target id, the fields
written (secrets never present) and the error, if any. ``fieldline logs`` reads it.

Sync state: the newest applied event time (``occurred_at``) per profile and per application,
so an event older than what was already applied is completed as ``stale`` without writing.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypedDict

from fieldline.config import Secret
from fieldline.queue.sqlite import SQLiteFile, ThreadConnections, connect_sqlite

__all__ = ["REDACTED", "RunLogEntry", "RunLogJSON", "RunStore", "redact"]

REDACTED = "***"

# Keys whose values are credentials wherever they appear (webhook bodies, payloads, options).
_SECRET_KEY = re.compile(
    r"(secret|password|passwd|token|api[_-]?key|authorization|private[_-]?key|credential)", re.IGNORECASE
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS fieldline_run_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at REAL NOT NULL,
    profile_key TEXT NOT NULL,
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
CREATE INDEX IF NOT EXISTS fieldline_run_log_profile ON fieldline_run_log (profile_key, id);
CREATE TABLE IF NOT EXISTS fieldline_profile_state (
    profile_key TEXT PRIMARY KEY,
    applied_version REAL NOT NULL,
    applied_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS fieldline_application_state (
    application_id TEXT PRIMARY KEY,
    profile_key TEXT NOT NULL,
    applied_version REAL NOT NULL,
    applied_at REAL NOT NULL
)
"""


def redact(value: Any) -> Any:
    """``value`` with every credential-looking key's value replaced by ``'***'`` (recursively)."""
    if isinstance(value, Secret):
        return REDACTED
    if isinstance(value, Mapping):
        return {
            key: REDACTED if isinstance(key, str) and _SECRET_KEY.search(key) else redact(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(item) for item in value]
    return value


class RunLogJSON(TypedDict):
    id: int
    at: float
    profile: str
    event_ids: list[str]
    job_ids: list[int]
    record: str | None
    key: str | None
    object: str | None
    action: str
    target_id: str | None
    written: dict[str, Any]
    error: str | None


@dataclass(frozen=True, slots=True)
class RunLogEntry:
    """One line of the run log. ``action`` is the plan's (``create``, ``update``, ``noop``,
    ``skip``, ``error``) or the worker's own (``stale``, ``gone``, ``ignored``, ``retry``, ``dead``)."""

    profile_key: str
    action: str
    event_ids: tuple[str, ...] = ()
    job_ids: tuple[int, ...] = ()
    record: str | None = None
    key: str | None = None
    object: str | None = None
    target_id: str | None = None
    written: Mapping[str, Any] = field(default_factory=dict)
    error: str | None = None
    at: float = 0.0
    id: int = 0

    def as_json(self) -> RunLogJSON:
        return {
            "id": self.id,
            "at": self.at,
            "profile": self.profile_key,
            "event_ids": list(self.event_ids),
            "job_ids": list(self.job_ids),
            "record": self.record,
            "key": self.key,
            "object": self.object,
            "action": self.action,
            "target_id": self.target_id,
            "written": dict(self.written),
            "error": self.error,
        }


class RunStore(SQLiteFile):
    """Run log + sync state on one SQLite file; one connection per thread.

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
        self._create_tables(SCHEMA)

    # --- writing --------------------------------------------------------------------------

    def record(
        self,
        entries: Iterable[RunLogEntry],
        *,
        applied: Mapping[str, float] | None = None,
        applications: Mapping[str, tuple[str, float]] | None = None,
    ) -> None:
        """Append log entries and raise the applied versions, in one transaction.

        ``applied``: profile key -> newest applied event time; ``applications``: application id
        -> (profile key, newest applied event time). Versions only ever move forward.
        """
        now = self.clock()
        with self._transaction() as connection:
            connection.executemany(
                "INSERT INTO fieldline_run_log (at, profile_key, event_ids, job_ids, record, key, object,"
                " action, target_id, written, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        entry.at or now,
                        entry.profile_key,
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
                ],
            )
            connection.executemany(
                "INSERT INTO fieldline_profile_state (profile_key, applied_version, applied_at)"
                " VALUES (?, ?, ?) ON CONFLICT (profile_key) DO UPDATE SET"
                " applied_version = MAX(applied_version, excluded.applied_version),"
                " applied_at = excluded.applied_at",
                [(key, version, now) for key, version in (applied or {}).items()],
            )
            connection.executemany(
                "INSERT INTO fieldline_application_state (application_id, profile_key, applied_version,"
                " applied_at) VALUES (?, ?, ?, ?) ON CONFLICT (application_id) DO UPDATE SET"
                " applied_version = MAX(applied_version, excluded.applied_version),"
                " applied_at = excluded.applied_at",
                [(app, key, version, now) for app, (key, version) in (applications or {}).items()],
            )

    def purge(self, before: float) -> int:
        """Delete run-log entries older than ``before`` (epoch seconds). Sync state stays."""
        with self._transaction() as connection:
            return connection.execute("DELETE FROM fieldline_run_log WHERE at < ?", (before,)).rowcount

    # --- reading --------------------------------------------------------------------------

    def applied_versions(self, profile_keys: Iterable[str]) -> dict[str, float]:
        """The newest applied event time of each given profile that has one."""
        keys = list(dict.fromkeys(profile_keys))
        if not keys:
            return {}
        rows = self._read(
            "SELECT profile_key, applied_version FROM fieldline_profile_state"
            " WHERE profile_key IN (SELECT value FROM json_each(?))",
            (json.dumps(keys),),
        )
        return {row[0]: float(row[1]) for row in rows}

    def applied_version(self, profile_key: str) -> float | None:
        return self.applied_versions([profile_key]).get(profile_key)

    def application_version(self, application_id: str) -> float | None:
        rows = self._read(
            "SELECT applied_version FROM fieldline_application_state WHERE application_id = ?",
            (application_id,),
        )
        return float(rows[0][0]) if rows else None

    def entries(self, *, profile: str | None = None, limit: int = 50) -> list[RunLogEntry]:
        """The newest run-log entries first, optionally for one profile."""
        where, parameters = ("WHERE profile_key = ?", [profile]) if profile is not None else ("", [])
        rows = self._read(
            "SELECT id, at, profile_key, event_ids, job_ids, record, key, object, action, target_id,"
            f" written, error FROM fieldline_run_log {where} ORDER BY id DESC LIMIT ?",
            [*parameters, limit],
        )
        return [
            RunLogEntry(
                id=int(row[0]),
                at=float(row[1]),
                profile_key=row[2],
                event_ids=tuple(json.loads(row[3])),
                job_ids=tuple(json.loads(row[4])),
                record=row[5],
                key=row[6],
                object=row[7],
                action=row[8],
                target_id=row[9],
                written=json.loads(row[10]),
                error=row[11],
            )
            for row in rows
        ]
