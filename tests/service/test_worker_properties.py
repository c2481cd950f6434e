"""Property: whatever fails along the way, once the target recovers and dead letters are
replayed, the target ends exactly where the source is and every accepted event is settled."""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import given, strategies as st

from fieldline.contracts import SourceDocument, Stop, StopReason
from fieldline.errors import FatalAdapterError, TransientAdapterError
from fieldline.planning.plans import Action
from fieldline.queue import JobState
from fieldline.queue.sqlite_queue import SQLiteJobQueue
from fieldline.queue.sqlite_run_store import SQLiteRunStore
from fieldline.service.worker import Worker, WorkerSettings
from fieldline.sync.runner import OutcomeStage, RecordOutcome, RunReport
from fieldline.testing.queue_suite import FakeClock
from tests.service.fakes import FakeSource, event

KEYS = ("p1", "p2", "p3")
FAILURES = ("transient", "fatal", "budget", "record_fatal", "record_retriable", "fetch_transient")


@dataclass
class TargetRunner:
    """Writes each document's data into ``target``; ``failures`` are consumed one per sync."""

    target: dict[str, Any] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    def sync(self, documents: Iterable[SourceDocument]) -> RunReport:
        batch = list(documents)
        failure = self.failures.pop(0) if self.failures else None
        if failure == "transient":
            raise TransientAdapterError("503")
        if failure == "fatal":
            raise FatalAdapterError("INVALID_SESSION_ID")
        report = RunReport()
        if failure == "budget":  # the target stopped after the first profile, as a real run reports it
            report.stopped = Stop(StopReason.DAILY_LIMIT, "limit")
        for index, document in enumerate(batch):
            if failure == "budget" and index > 0:
                report.outcomes.append(
                    RecordOutcome(
                        record="r",
                        key=document.key,
                        document_key=document.key,
                        object="O",
                        action=Action.UPDATE,
                        error="not sent: the run stopped (limit)",
                        retriable=True,
                        stage=OutcomeStage.STOPPED,
                    )
                )
                continue
            if failure in ("record_fatal", "record_retriable") and index == 0:
                report.outcomes.append(
                    RecordOutcome(
                        record="r",
                        key=document.key,
                        document_key=document.key,
                        object="O",
                        action=Action.UPDATE,
                        error="refused",
                        retriable=failure == "record_retriable",
                    )
                )
                continue
            self.target[document.key] = dict(document.data)
            report.outcomes.append(
                RecordOutcome(
                    record="r", key=document.key, document_key=document.key, object="O", action=Action.UPDATE
                )
            )
        return report


actions = st.lists(
    st.one_of(
        st.tuples(st.just("change"), st.sampled_from(KEYS)),
        st.tuples(st.just("fail"), st.sampled_from(FAILURES)),
        st.tuples(st.just("work"), st.integers(1, 5)),
        st.tuples(st.just("later"), st.sampled_from([1.0, 30.0, 500.0])),
    ),
    max_size=40,
)


@given(steps=actions)
def test_target_converges_to_source_and_nothing_is_lost(steps: list[tuple[str, Any]]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        clock = FakeClock()
        queue = SQLiteJobQueue(Path(folder) / "q.db", clock=clock, max_attempts=3, synchronous="OFF")
        store = SQLiteRunStore(Path(folder) / "q.db", synchronous="OFF", clock=clock)
        source = FakeSource()
        runner = TargetRunner()
        worker = Worker(
            queue,
            store,
            source,
            runner,
            worker_id="w",
            settings=WorkerSettings(batch_size=2, budget_pause=10),
        )
        versions = dict.fromkeys(KEYS, 0)
        accepted = 0
        for number, (kind, value) in enumerate(steps):
            if kind == "change":
                versions[value] += 1
                source.profiles[value] = {"v": versions[value]}
                accepted += queue.enqueue([event(f"e{number}", value, clock.now)], source="s").queued
            elif kind == "fail" and value == "fetch_transient":
                source.errors["p1"] = TransientAdapterError("PassFort 503")
            elif kind == "fail":
                runner.failures.append(value)
            elif kind == "work":
                for _ in range(value):
                    worker.run_once()
            else:
                clock.advance(value)
                source.errors.clear()

        # Recovery: the systems work again, dead letters are replayed, the queue drains.
        runner.failures.clear()
        source.errors.clear()
        for _ in range(200):
            clock.advance(1000)
            queue.requeue(None)
            if not worker.run_once().handled and queue.status().waiting == 0:
                break
        status = queue.status()
        assert status.counts.get(JobState.DONE, 0) == accepted, status.counts
        expected = {key: {"v": version} for key, version in versions.items() if version}
        assert runner.target == expected
        queue.close()
        store.close()
