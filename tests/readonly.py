"""A queue file the process may read but not write, even when the tests run as root.

Root ignores file modes (``chmod 444`` does not stop it), so the SQLite layer is made to open
the file the way it opens one it may not write: ``?mode=ro``. Reads work, every write fails
with "attempt to write a readonly database" — what a service user without write access sees.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from fieldline.queue import sqlite_file
from fieldline.queue.sqlite_queue import SQLiteJobQueue
from fieldline.queue.sqlite_run_store import SQLiteRunStore

__all__ = ["make_read_only"]


def make_read_only(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Create the queue at ``path`` (tables and all), then open it read-only from now on."""
    SQLiteJobQueue(path).close()
    SQLiteRunStore(path).close()
    real_connect = sqlite_file.connect_sqlite

    def connect_read_only(
        target: str | Path, *, synchronous: str = "NORMAL", busy_timeout: float = 30.0
    ) -> sqlite3.Connection:
        if Path(target).resolve() != path.resolve():
            return real_connect(target, synchronous=synchronous, busy_timeout=busy_timeout)
        connection = sqlite3.connect(
            f"file:{path}?mode=ro", uri=True, isolation_level=None, check_same_thread=False
        )
        connection.execute("PRAGMA journal_mode = WAL")  # already WAL: a read, as on a 0444 file
        return connection

    for module in ("fieldline.queue.sqlite_queue", "fieldline.queue.sqlite_run_store"):
        monkeypatch.setattr(f"{module}.connect_sqlite", connect_read_only)
