"""The SQLite queue's write probe: it fails exactly when an enqueue would."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import pytest

from fieldline.errors import QueueError
from fieldline.queue.sqlite_queue import SQLiteJobQueue
from fieldline.testing.queue_suite import event
from tests.readonly import make_read_only


def test_a_read_only_file_opens_and_reads_but_fails_the_probe(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "q.db"
    make_read_only(path, monkeypatch)
    with SQLiteJobQueue(path) as queue:
        assert queue.status().counts == {}, "opening and reading work: that is why start-up missed it"
        with pytest.raises(QueueError, match="readonly database"):
            queue.enqueue([event("e1", "p1")], source="pf")
        with pytest.raises(QueueError, match="readonly database"):
            queue.check_writable()


def test_the_probe_commits_durably_without_touching_jobs(tmp_path: Path) -> None:
    with SQLiteJobQueue(tmp_path / "q.db", clock=lambda: 42.0) as queue:
        queue.check_writable()
        queue.check_writable()
    with contextlib.closing(sqlite3.connect(tmp_path / "q.db")) as reader:
        rows = reader.execute("SELECT id, at FROM fieldline_write_probe").fetchall()
        jobs = reader.execute("SELECT count(*) FROM fieldline_jobs").fetchone()
    assert rows == [(1, 42.0)], "committed; one row that every probe updates, so the file does not grow"
    assert jobs == (0,)
