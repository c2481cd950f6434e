"""The JobQueue conformance suite and model-based properties, run against the SQLite backend."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fieldline.queue.sqlite_queue import SQLiteJobQueue
from fieldline.testing.queue_suite import get_queue_state_machine, get_queue_test_class


def make_sqlite_queue(directory: Path, *, clock: Callable[[], float], max_attempts: int) -> SQLiteJobQueue:
    # synchronous=NORMAL keeps the property tests fast; durability is tested separately.
    return SQLiteJobQueue(
        directory / "queue.db", clock=clock, max_attempts=max_attempts, synchronous="NORMAL"
    )


TestSQLiteQueue = get_queue_test_class(make_sqlite_queue)
TestSQLiteQueueModel = get_queue_state_machine(make_sqlite_queue).TestCase
