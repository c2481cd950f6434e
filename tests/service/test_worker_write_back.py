"""Workers and write-backs: a failed write-back is retried through the queue and dead-lettered
with its cause, never undoing the target write; the echo of our own write-back needs no sync."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from fieldline.contracts import SourceDocument, SourceEvent, WriteBackResult, WriteBackStatus
from fieldline.queue import JobState
from fieldline.queue.sqlite_queue import SQLiteJobQueue
from fieldline.queue.sqlite_run_store import SQLiteRunStore
from fieldline.service.worker import Worker, WorkerSettings
from fieldline.sync.runner import RunReport
from fieldline.testing.queue_suite import FakeClock
from tests.service.fakes import FakeRunner, FakeSource, event, make_queue

PATH = "collected_data.customer_ref"


@dataclass
class WritingBackRunner(FakeRunner):
    """Applies every document, then reports its write-back with the status scripted for it."""

    write_backs: dict[str, list[WriteBackResult]] = field(default_factory=dict)

    def sync(self, documents: Iterable[SourceDocument]) -> RunReport:
        batch = list(documents)
        report = super().sync(batch)
        for document in batch:
            script = self.write_backs.get(document.key) or [
                WriteBackResult(document.key, PATH, WriteBackStatus.WRITTEN)
            ]
            report.write_backs.append(script.pop(0) if len(script) > 1 else script[0])
        return report


@dataclass
class EchoingSource(FakeSource):
    """Knows its collected-data events by their ``echo`` flag."""

    asked: list[frozenset[str]] = field(default_factory=list)

    def is_write_back_echo(self, event: SourceEvent, paths: frozenset[str]) -> bool:
        self.asked.append(paths)
        return bool(event.payload.get("echo"))


class Rig:
    def __init__(self, directory: Path) -> None:
        self.clock = FakeClock()
        self.queue: SQLiteJobQueue = make_queue(directory, self.clock, max_attempts=2)
        self.store = SQLiteRunStore(directory / "q.db", clock=self.clock)
        self.source = EchoingSource(profiles={"p1": {"name": "One"}, "p2": {"name": "Two"}})
        self.runner = WritingBackRunner()
        self.worker = Worker(
            self.queue,
            self.store,
            self.source,
            self.runner,
            worker_id="w1",
            settings=WorkerSettings(batch_size=50, fetch_concurrency=1),
            write_back_paths=frozenset({PATH}),
        )

    def close(self) -> None:
        self.queue.close()
        self.store.close()


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    built = Rig(tmp_path)
    yield built
    built.close()


def failed(error: str, *, retriable: bool, retry_after: float | None = None) -> WriteBackResult:
    return WriteBackResult(
        "p1", PATH, WriteBackStatus.FAILED, error=error, retriable=retriable, retry_after=retry_after
    )


def test_a_failed_write_back_is_retried_then_dead_lettered_with_its_cause(rig: Rig) -> None:
    down = failed("PassFort POST /profiles/p1/collected_data: HTTP 503", retriable=True, retry_after=30)
    rig.runner.write_backs["p1"] = [down]
    ids = rig.queue.enqueue([event("e1", "p1"), event("e2", "p2")], source="fake").job_ids
    batch = rig.worker.run_once()
    assert (batch.completed, batch.retried) == (1, 1), "the other profile is not held back"
    assert rig.queue.state_of(ids[0]) is JobState.TODO
    [failure] = rig.queue.status().recent_failures
    assert failure.error.startswith("write-back pending (the target write stands): ")
    assert "HTTP 503" in failure.error
    rig.clock.advance(29)
    assert rig.worker.run_once().handled == 0, "Retry-After is honoured"
    rig.clock.advance(600)
    assert rig.worker.run_once().dead == 1
    [dead] = rig.queue.dead_letters()
    assert "write-back pending" in dead.error
    assert "HTTP 503" in dead.error
    # the Account write was reported done both times: nothing undone, the run log keeps both
    actions = [entry.action for entry in rig.store.entries(entity="p1")]
    assert actions.count("update") == 2
    assert "write_back_failed" in actions


def test_a_write_back_no_retry_can_fix_is_a_dead_letter_at_once(rig: Rig) -> None:
    rig.runner.write_backs["p1"] = [failed("the API key lacks permission for this call", retriable=False)]
    [job_id] = rig.queue.enqueue([event("e1", "p1")], source="fake").job_ids
    assert rig.worker.run_once().dead == 1
    assert rig.queue.state_of(job_id) is JobState.DEAD


def test_a_replayed_job_writes_back_what_is_missing(rig: Rig) -> None:
    rig.runner.write_backs["p1"] = [failed("HTTP 503", retriable=False), failed("unused", retriable=True)]
    rig.queue.enqueue([event("e1", "p1")], source="fake")
    assert rig.worker.run_once().dead == 1
    rig.runner.write_backs["p1"] = [WriteBackResult("p1", PATH, WriteBackStatus.WRITTEN)]
    assert rig.queue.requeue() == 1
    assert rig.worker.run_once().completed == 1
    assert [entry.action for entry in rig.store.entries(entity="p1")][-1:] != ["write_back_failed"]


def test_the_echo_of_our_write_back_completes_without_a_sync(rig: Rig) -> None:
    [job_id] = rig.queue.enqueue([event("e1", "p1", echo=True)], source="fake").job_ids
    batch = rig.worker.run_once()
    assert batch.completed == 1
    assert rig.queue.note_of(job_id) == "own write-back"
    assert rig.source.fetched == []
    assert rig.runner.calls == []
    assert rig.source.asked == [frozenset({PATH})]
    assert rig.store.applied_versions("fake", ["p1"]) == {}, "an echo moves no version on"


def test_a_real_change_with_an_echo_is_synced(rig: Rig) -> None:
    rig.queue.enqueue([event("e1", "p1", echo=True), event("e2", "p1", 101)], source="fake")
    assert rig.worker.run_once().completed == 2
    assert rig.source.fetched == ["p1"]
