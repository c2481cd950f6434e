"""Workers: one fetch per profile, one sync per batch, every job settled by the rules."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from fieldline.contracts import EventRole, Stop, StopReason
from fieldline.errors import (
    BudgetExhaustedError,
    ConfigError,
    EvaluationError,
    FatalAdapterError,
    QueueError,
    TransientAdapterError,
)
from fieldline.queue import Job, JobState
from fieldline.queue.sqlite_queue import SQLiteJobQueue
from fieldline.queue.sqlite_run_store import SQLiteRunStore
from fieldline.service.worker import Worker, WorkerSettings
from fieldline.testing.queue_suite import FakeClock
from tests.service.fakes import FakeRunner, FakeSource, event, failed, make_queue, not_sent, unreached
from tests.waiting import PATIENCE, wait_until


class Rig:
    def __init__(self, directory: Path) -> None:
        self.clock = FakeClock()
        self.queue: SQLiteJobQueue = make_queue(directory, self.clock)
        self.store = SQLiteRunStore(directory / "q.db", clock=self.clock)
        self.source = FakeSource(profiles={key: {"name": f"Name {key}"} for key in ("p1", "p2", "p3")})
        self.runner = FakeRunner()
        self.worker = Worker(
            self.queue,
            self.store,
            self.source,
            self.runner,
            worker_id="w1",
            settings=WorkerSettings(batch_size=50, fetch_concurrency=2, budget_pause=120),
            resources=(self.source,),
        )

    def state(self, job_id: int) -> JobState | None:
        return self.queue.state_of(job_id)

    def close(self) -> None:
        self.queue.close()
        self.store.close()


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    built = Rig(tmp_path)
    yield built
    built.close()


def test_batch_fetches_each_profile_once_and_syncs_once(rig: Rig) -> None:
    result = rig.queue.enqueue(
        [event("e1", "p1", 100), event("e2", "p2", 100), event("e3", "p1", 105, application_id="a1")],
        source="fake",
    )
    batch = rig.worker.run_once()
    assert (batch.completed, batch.handled) == (3, 3)
    assert sorted(rig.source.fetched) == ["p1", "p2"]
    [documents] = rig.runner.calls
    assert {document.key: document.version for document in documents} == {"p1": 105.0, "p2": 100.0}
    assert all(rig.state(job_id) is JobState.DONE for job_id in result.job_ids)
    assert rig.store.applied_versions("fake", ["p1", "p2", "application:a1"]) == {
        "p1": 105.0,
        "p2": 100.0,
        "application:a1": 105.0,
    }
    [entry] = rig.store.entries(entity="p1")
    assert (entry.action, entry.target_id, entry.event_ids) == ("update", "001p1", ("e1", "e3"))
    assert entry.written == {"Name": "Name p1", "Api_Token__c": "***"}, "secrets never reach the log"


def test_older_event_than_applied_is_completed_as_stale_without_writing(rig: Rig) -> None:
    rig.store.record([], source="fake", applied={"p1": 200.0})
    [stale_id, fresh_id] = rig.queue.enqueue(
        [event("old", "p1", 150), event("new", "p1", 200)], source="fake"
    ).job_ids
    batch = rig.worker.run_once()
    assert (batch.stale, batch.completed) == (1, 1)
    assert rig.queue.note_of(stale_id) == "stale"
    assert rig.queue.note_of(fresh_id) == "applied"
    assert [document.key for document in rig.runner.calls[0]] == ["p1"]
    assert "stale" in [entry.action for entry in rig.store.entries(entity="p1")]


def test_only_stale_events_never_reach_source_or_target(rig: Rig) -> None:
    rig.store.record([], source="fake", applied={"p1": 200.0})
    rig.queue.enqueue([event("old", "p1", 150)], source="fake")
    assert rig.worker.run_once().stale == 1
    assert rig.source.fetched == []
    assert rig.runner.calls == []


def test_transient_fetch_error_retries_that_profile_only(rig: Rig) -> None:
    rig.source.errors["p2"] = TransientAdapterError("PassFort answered 503", retry_after=40)
    ids = rig.queue.enqueue([event("e1", "p1"), event("e2", "p2")], source="fake").job_ids
    batch = rig.worker.run_once()
    assert (batch.completed, batch.retried) == (1, 1)
    assert rig.state(ids[0]) is JobState.DONE
    assert rig.state(ids[1]) is JobState.TODO
    rig.clock.advance(39)
    assert rig.queue.claim("other", limit=5) == [], "Retry-After is honoured"
    assert "PassFort answered 503" in rig.queue.status().recent_failures[0].error


def test_profile_gone_from_source_completes_as_gone(rig: Rig) -> None:
    [job_id] = rig.queue.enqueue([event("e1", "deleted")], source="fake").job_ids
    assert rig.worker.run_once().gone == 1
    assert rig.queue.note_of(job_id) == "gone"
    assert rig.runner.calls == []


def test_transient_target_error_retries_the_batch_after_retry_after(rig: Rig) -> None:
    rig.runner.raises = TransientAdapterError("REQUEST_LIMIT_EXCEEDED", retry_after=30)
    ids = rig.queue.enqueue([event("e1", "p1"), event("e2", "p2")], source="fake").job_ids
    assert rig.worker.run_once().retried == 2
    rig.clock.advance(29)
    assert rig.worker.run_once().handled == 0
    rig.clock.advance(600)
    rig.runner.raises = None
    assert rig.worker.run_once().completed == 2
    assert [rig.state(job_id) for job_id in ids] == [JobState.DONE, JobState.DONE]


@pytest.mark.parametrize(
    "error",
    [
        pytest.param(BudgetExhaustedError("daily API limit reached"), id="budget"),
        pytest.param(ConfigError("no Salesforce username is configured"), id="settings"),
    ],
)
def test_budget_or_settings_problems_put_jobs_back_and_pause(rig: Rig, error: Exception) -> None:
    rig.runner.raises = error
    ids = rig.queue.enqueue([event("e1", "p1")], source="fake").job_ids
    batch = rig.worker.run_once()
    assert (batch.released, batch.paused) == (1, True)
    assert rig.state(ids[0]) is JobState.TODO
    rig.clock.advance(121)
    rig.runner.raises = None
    [job] = rig.queue.claim("w2", limit=1)
    assert job.attempts == 1, "a budget pause does not use up an attempt"


def test_a_stopped_run_settles_the_profiles_written_and_puts_the_rest_back(rig: Rig) -> None:
    rig.runner.stopped = Stop(StopReason.DAILY_LIMIT, "the org's API request limit is exceeded")
    rig.runner.rules["p2"] = not_sent
    rig.runner.rules["p3"] = unreached
    ids = rig.queue.enqueue([event("e1", "p1"), event("e2", "p2"), event("e3", "p3")], source="fake").job_ids
    batch = rig.worker.run_once()
    assert (batch.completed, batch.released, batch.paused) == (1, 2, True)
    assert [rig.state(job_id) for job_id in ids] == [JobState.DONE, JobState.TODO, JobState.TODO]
    assert rig.store.applied_versions("fake", ["p1", "p2", "p3"]) == {"p1": 100.0}
    assert [entry.action for entry in rig.store.entries(entity="p2")] == ["paused"]
    assert "daily_limit" in (rig.store.entries(entity="p2")[0].error or "")
    rig.clock.advance(121)
    jobs = rig.queue.claim("w2", limit=5)
    assert sorted(job.lock_key for job in jobs) == ["p2", "p3"]
    assert all(job.attempts == 1 for job in jobs), "a stop does not use up an attempt"


def test_record_errors_dead_letter_or_retry_per_profile(rig: Rig) -> None:
    rig.runner.rules["p1"] = failed("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST: Status__c", retriable=False)
    rig.runner.rules["p2"] = failed("UNABLE_TO_LOCK_ROW", retriable=True)
    ids = rig.queue.enqueue([event("e1", "p1"), event("e2", "p2"), event("e3", "p3")], source="fake").job_ids
    batch = rig.worker.run_once()
    assert (batch.dead, batch.retried, batch.completed) == (1, 1, 1)
    assert [rig.state(job_id) for job_id in ids] == [JobState.DEAD, JobState.TODO, JobState.DONE]
    [dead] = rig.queue.dead_letters()
    assert "Status__c" in dead.error
    assert dead.error.startswith("application p1[0]:")
    assert rig.store.applied_versions("fake", ["p1"]) == {}, "a failed profile's version does not move"
    assert [entry.action for entry in rig.store.entries(entity="p1")] == ["error"]


def test_a_dead_letter_is_logged_with_its_event_entity_and_cause(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    rig.runner.rules["p1"] = failed("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST: Status__c", retriable=False)
    rig.queue.enqueue([event("e1", "p1")], source="fake")
    with caplog.at_level("ERROR", logger="fieldline.worker"):
        rig.worker.run_once()
    [record] = [r for r in caplog.records if "dead letter" in r.getMessage()]
    message = record.getMessage()
    assert "event e1" in message
    assert "entity p1" in message
    assert "Status__c" in message
    assert "fieldline replay" in message


@pytest.mark.parametrize(
    ("error", "state"),
    [
        pytest.param(FatalAdapterError("INVALID_SESSION_ID"), JobState.DEAD, id="fatal-dead-letter"),
        pytest.param(EvaluationError("boom"), JobState.TODO, id="fieldline-error-retried"),
        pytest.param(RuntimeError("bug"), JobState.TODO, id="unexpected-retried"),
    ],
)
def test_runner_exceptions_never_lose_jobs(rig: Rig, error: Exception, state: JobState) -> None:
    rig.runner.raises = error
    [job_id] = rig.queue.enqueue([event("e1", "p1")], source="fake").job_ids
    rig.worker.run_once()
    assert rig.state(job_id) is state
    assert rig.queue.status().recent_failures[0].error.endswith(str(error))


def test_settling_after_the_lease_was_taken_back_does_not_double_settle(rig: Rig) -> None:
    [job_id] = rig.queue.enqueue([event("e1", "p1")], source="fake").job_ids
    jobs = rig.queue.claim("w1", limit=5, lease_seconds=10)
    rig.clock.advance(11)
    [taken] = rig.queue.claim("w2", limit=5, lease_seconds=60)
    batch = rig.worker.process(jobs)
    assert (batch.completed, batch.lost) == (0, 1)
    assert rig.state(job_id) is JobState.DOING
    assert rig.queue.complete([taken]) == [job_id]


def test_run_loop_stops_on_request_and_closes_its_adapters(rig: Rig) -> None:
    rig.queue.enqueue([event(f"e{i}", f"p{i % 3 + 1}") for i in range(10)], source="fake")
    stop = threading.Event()
    wake = threading.Event()
    thread = threading.Thread(target=rig.worker.run, args=(stop,), kwargs={"wake": wake})
    thread.start()
    wait_until(lambda: rig.queue.status().counts.get(JobState.DONE) == 10, what="ten jobs done")
    stop.set()
    wake.set()
    thread.join(timeout=PATIENCE)
    assert not thread.is_alive()
    assert rig.queue.status().counts.get(JobState.DONE) == 10
    assert rig.source.closed


def test_slow_batches_keep_their_leases(tmp_path: Path) -> None:
    clock = FakeClock()
    extended: list[float] = []

    def extended_since(count: int) -> bool:
        return len(extended) > count

    class WatchedQueue(SQLiteJobQueue):
        def extend(self, job: Job, lease_seconds: float) -> Job | None:
            kept = super().extend(job, lease_seconds)
            extended.append(clock.now)
            return kept

    queue = WatchedQueue(tmp_path / "q.db", synchronous="NORMAL", clock=clock)
    store = SQLiteRunStore(tmp_path / "q.db", clock=clock)
    [job_id] = queue.enqueue([event("e1", "p1")], source="fake").job_ids
    seen: list[int] = []

    class SlowRunner(FakeRunner):
        def sync(self, documents: Any) -> Any:
            # Three lease lengths pass on the queue's clock, each step shorter than a lease and
            # taken only once the keeper has extended the lease again.
            for _ in range(9):
                wait_until(partial(extended_since, len(extended)), what="the keeper extending the lease")
                clock.advance(0.1)
            seen.append(len(queue.claim("thief", limit=5, lease_seconds=5)))
            return super().sync(documents)

    worker = Worker(
        queue,
        store,
        FakeSource(profiles={"p1": {"name": "x"}}),
        SlowRunner(),
        worker_id="w1",
        settings=WorkerSettings(lease_seconds=0.3),
    )
    assert worker.run_once().completed == 1
    assert seen == [0], "nobody could take the job while it was being processed"
    assert queue.state_of(job_id) is JobState.DONE
    queue.close()
    store.close()


def test_loop_survives_a_failing_queue(rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    calls = {"n": 0}
    stop = threading.Event()
    real_claim = rig.queue.claim

    def flaky_claim(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise QueueError("database is locked")
        if calls["n"] == 2:
            raise KeyError("a bug")
        stop.set()
        return real_claim(*args, **kwargs)

    rig.worker.queue = type("Q", (), {"claim": staticmethod(flaky_claim)})()
    rig.worker.settings = WorkerSettings(poll_interval=0.001)
    rig.worker.run(stop)
    assert calls["n"] == 3
    assert "database is locked" in caplog.text
    assert "unexpected KeyError" in caplog.text


def test_an_event_older_than_its_application_s_newest_is_stale(rig: Rig) -> None:
    rig.store.record([], source="fake", applied={"application:a1": 300.0})
    [old, other] = rig.queue.enqueue(
        [event("old", "p1", 200, application_id="a1"), event("other", "p2", 200, application_id="a2")],
        source="fake",
    ).job_ids
    batch = rig.worker.run_once()
    assert (batch.stale, batch.completed) == (1, 1)
    assert rig.queue.note_of(old) == "stale"
    assert rig.queue.note_of(other) == "applied"
    assert rig.source.fetched == ["p2"]


def test_document_events_are_mapped_as_they_are_in_order_without_a_fetch(rig: Rig) -> None:
    documents = [
        event("d1", "lead-1", 100, role=EventRole.DOCUMENT, name="first"),
        event("d2", "lead-2", 100, role=EventRole.DOCUMENT, name="other"),
        event("d3", "lead-1", 101, role=EventRole.DOCUMENT, name="second"),
    ]
    job_ids = rig.queue.enqueue(documents, source="fake").job_ids
    batch = rig.worker.run_once()
    assert batch.completed == 3
    assert rig.source.fetched == [], "a document event carries its document"
    # each entity's documents in order, one per sync: the second never overtakes the first
    assert [[(doc.key, doc.data["name"], doc.version) for doc in call] for call in rig.runner.calls] == [
        [("lead-1", "first", 100.0), ("lead-2", "other", 100.0)],
        [("lead-1", "second", 101.0)],
    ]
    assert all(rig.state(job_id) is JobState.DONE for job_id in job_ids)
    assert rig.store.applied_versions("fake", ["lead-1", "lead-2"]) == {"lead-1": 101.0, "lead-2": 100.0}


def test_a_failed_first_document_keeps_the_later_ones_of_that_entity_from_running(rig: Rig) -> None:
    rig.runner.raises = BudgetExhaustedError("API budget used up")
    documents = [
        event("d1", "lead-1", 100, role=EventRole.DOCUMENT, name="first"),
        event("d2", "lead-1", 101, role=EventRole.DOCUMENT, name="second"),
    ]
    first, second = rig.queue.enqueue(documents, source="fake").job_ids
    batch = rig.worker.run_once()
    assert batch.paused
    assert len(rig.runner.calls) == 1, "the second round never ran"
    assert batch.released == 2
    assert rig.state(first) is JobState.TODO
    assert rig.state(second) is JobState.TODO


def test_a_worker_claims_only_its_own_source(rig: Rig) -> None:
    rig.queue.enqueue([event("mine", "p1")], source="fake")
    theirs = rig.queue.enqueue([event("theirs", "p2")], source="elsewhere").job_ids
    own = Worker(
        rig.queue, rig.store, rig.source, rig.runner, worker_id="w2", source_name="fake", resources=()
    )
    assert own.run_once().completed == 1
    assert rig.source.fetched == ["p1"]
    assert rig.state(theirs[0]) is JobState.TODO


def test_a_stopped_first_document_keeps_the_later_ones_of_that_entity_from_running(rig: Rig) -> None:
    rig.runner.stopped = Stop(StopReason.BUDGET, "this run used its API budget")
    rig.runner.rules["lead-1"] = not_sent
    documents = [
        event("d1", "lead-1", 100, role=EventRole.DOCUMENT, name="first"),
        event("d2", "lead-1", 101, role=EventRole.DOCUMENT, name="second"),
        event("d3", "lead-2", 100, role=EventRole.DOCUMENT, name="other"),
    ]
    first, second, other = rig.queue.enqueue(documents, source="fake").job_ids
    batch = rig.worker.run_once()
    assert batch.paused
    assert len(rig.runner.calls) == 1, "the second round never ran"
    assert (batch.completed, batch.released) == (1, 2)
    assert [rig.state(job_id) for job_id in (first, second, other)] == [
        JobState.TODO,
        JobState.TODO,
        JobState.DONE,
    ]


def _recorded_rig(rig: Rig, tmp_path: Path, log: Any) -> None:
    from fieldline.spec.loader import load_spec
    from fieldline.sync.connector_log import BatchRuns
    from tests.e2e.harness import SPEC_FILE

    spec = load_spec(SPEC_FILE)
    rig.worker.batch_runs = BatchRuns(log, spec, worker_id="w1")


def test_each_batch_is_a_run_in_the_connector_logs(rig: Rig, tmp_path: Path) -> None:
    from fieldline.queue.sqlite_sync_runs import SQLiteSyncRuns
    from fieldline.queue.sync_runs import RunStatus

    log = SQLiteSyncRuns(tmp_path / "q.db")
    _recorded_rig(rig, tmp_path, log)
    rig.runner.rules["p2"] = failed("REQUIRED_FIELD_MISSING: Name", retriable=False)
    rig.queue.enqueue([event("e1", "p1", 100), event("e2", "p2", 100)], source="fake")
    rig.worker.run_once()
    rig.runner.raises = TransientAdapterError("Salesforce is down")
    rig.queue.enqueue([event("e3", "p3", 100)], source="fake")
    rig.worker.run_once()
    failing, first = log.runs()
    assert first.spec == "passfort-salesforce"
    assert first.options == {"service": "w1", "documents": 2}
    assert first.status is RunStatus.FAILED
    assert first.ended_at is not None
    records = {record.document_key: record for record in log.records(first.id)}
    assert records["p1"].error is None
    assert "REQUIRED_FIELD_MISSING" in str(records["p2"].error)
    assert failing.status is RunStatus.FAILED
    assert "Salesforce is down" in str(failing.error)
    log.close()


def test_a_connector_log_that_cannot_be_written_never_fails_the_batch(rig: Rig, tmp_path: Path) -> None:
    class BrokenLog:
        def start(self, **_: Any) -> int:
            raise QueueError("disk I/O error")

    _recorded_rig(rig, tmp_path, BrokenLog())
    result = rig.queue.enqueue([event("e1", "p1", 100)], source="fake")
    assert rig.worker.run_once().completed == 1
    assert rig.state(result.job_ids[0]) is JobState.DONE
