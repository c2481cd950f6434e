"""The JobQueue conformance suite: run it against any queue backend.

Small test templates are assembled by a factory into a pytest class (the way the Meltano SDK
builds ``get_target_test_class``), plus a Hypothesis state machine that checks the guarantees
against a model::

    from fieldline.testing.queue_suite import get_queue_state_machine, get_queue_test_class

    def make_queue(directory, *, clock, max_attempts):
        return MyQueue(directory / "queue", clock=clock, max_attempts=max_attempts)

    TestMyQueue = get_queue_test_class(make_queue)
    TestMyQueueModel = get_queue_state_machine(make_queue).TestCase

``make_queue`` gets a directory (a fresh one per test; called again with the same directory it
must open the same, durable queue), a clock (seconds, controlled by the test) and the number of
attempts before a job is dead-lettered.
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pytest
from hypothesis import settings, strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, precondition, rule

from fieldline.contracts import EventRole, SourceEvent
from fieldline.queue import EnqueueGroup, Job, JobQueue, JobState, QueueHealth

__all__ = ["FakeClock", "QueueMaker", "event", "get_queue_state_machine", "get_queue_test_class"]

MAX_ATTEMPTS = 3
LEASE = 30.0
SOURCE = "test"


class QueueMaker(Protocol):
    def __call__(self, directory: Path, *, clock: Callable[[], float], max_attempts: int) -> JobQueue: ...


class FakeClock:
    """A clock tests move by hand."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def event(
    event_id: str, key: str, *, occurred_at: float = 1.0, type_: str = "PRODUCT_STATUS_CHANGED"
) -> SourceEvent:
    """A small source event for queue tests."""
    return SourceEvent(
        id=event_id, type=type_, entity_key=key, occurred_at=occurred_at, payload={"profile_id": key}
    )


# --- templates: each takes (queue, clock, reopen) ------------------------------------------

Reopen = Callable[[], JobQueue]


def _enqueue_then_claim_in_order(queue: JobQueue, clock: FakeClock, reopen: Reopen) -> None:
    result = queue.enqueue([event("e1", "a", occurred_at=5.0), event("e2", "b")], source=SOURCE)
    assert (result.queued, result.duplicates, result.ignored) == (2, 0, 0)
    assert len(result.job_ids) == 2
    jobs = queue.claim("w1", limit=10, lease_seconds=LEASE)
    assert [job.event_id for job in jobs] == ["e1", "e2"]
    assert [job.id for job in jobs] == list(result.job_ids)
    first = jobs[0]
    assert (first.lock_key, first.source, first.occurred_at, first.attempts) == ("a", SOURCE, 5.0, 1)
    assert first.payload == {"profile_id": "a"}
    assert first.to_event() == event("e1", "a", occurred_at=5.0)
    assert queue.claim("w2", limit=10, lease_seconds=LEASE) == []


def _duplicates_are_acknowledged_not_queued(queue: JobQueue, clock: FakeClock, reopen: Reopen) -> None:
    queue.enqueue([event("e1", "a")], source=SOURCE)
    again = queue.enqueue([event("e1", "a"), event("e2", "a"), event("e2", "a")], source=SOURCE)
    assert (again.queued, again.duplicates) == (1, 2)
    assert again.accepted == 3
    other_source = queue.enqueue([event("e1", "a")], source="other")
    assert other_source.queued == 1
    jobs = queue.claim("w1", limit=10, lease_seconds=LEASE)
    assert sorted((job.source, job.event_id) for job in jobs) == [
        ("other", "e1"),
        (SOURCE, "e1"),
        (SOURCE, "e2"),
    ]
    queue.complete(jobs)
    late = queue.enqueue([event("e1", "a")], source=SOURCE)
    assert (late.queued, late.duplicates) == (0, 1)
    assert queue.claim("w1", limit=10, lease_seconds=LEASE) == []


def _ignored_events_are_recorded_not_handed_out(queue: JobQueue, clock: FakeClock, reopen: Reopen) -> None:
    result = queue.enqueue([event("e1", "a"), event("e2", "a")], source=SOURCE, ignored={"e1"})
    assert (result.queued, result.ignored) == (1, 1)
    assert [job.event_id for job in queue.claim("w1", limit=10)] == ["e2"]
    assert queue.status().counts.get(JobState.IGNORED) == 1


def _group_commit_gives_one_result_per_group(queue: JobQueue, clock: FakeClock, reopen: Reopen) -> None:
    results = queue.enqueue_groups(
        [
            EnqueueGroup(SOURCE, [event("e1", "a"), event("e2", "b")]),
            EnqueueGroup(SOURCE, [event("e2", "b"), event("e3", "a")]),
            EnqueueGroup("other", [event("e1", "c")], ignored=frozenset({"e1"})),
        ]
    )
    assert [(r.queued, r.duplicates, r.ignored) for r in results] == [(2, 0, 0), (1, 1, 0), (0, 0, 1)]
    assert [job.event_id for job in queue.claim("w1", limit=10)] == ["e1", "e2", "e3"]


def _one_key_is_never_worked_on_twice_at_once(queue: JobQueue, clock: FakeClock, reopen: Reopen) -> None:
    queue.enqueue([event("a1", "a"), event("a2", "a"), event("b1", "b")], source=SOURCE)
    first = queue.claim("w1", limit=1, lease_seconds=LEASE)
    assert [job.event_id for job in first] == ["a1"]
    second = queue.claim("w2", limit=10, lease_seconds=LEASE)
    assert [job.event_id for job in second] == ["b1"], "a2 must wait while a1 is leased"
    assert queue.complete(first) == [first[0].id]
    third = queue.claim("w2", limit=10, lease_seconds=LEASE)
    assert [job.event_id for job in third] == ["a2"]


def _one_claim_may_take_a_key_run_in_order(queue: JobQueue, clock: FakeClock, reopen: Reopen) -> None:
    queue.enqueue([event(f"a{i}", "a") for i in range(5)] + [event("b0", "b")], source=SOURCE)
    jobs = queue.claim("w1", limit=3, lease_seconds=LEASE)
    assert [job.event_id for job in jobs] == ["a0", "a1", "a2"]
    assert queue.claim("w2", limit=10, lease_seconds=LEASE)[0].event_id == "b0"


def _failed_job_waits_for_backoff_and_blocks_its_key(
    queue: JobQueue, clock: FakeClock, reopen: Reopen
) -> None:
    queue.enqueue([event("a1", "a"), event("a2", "a"), event("b1", "b")], source=SOURCE)
    [job] = queue.claim("w1", limit=1, lease_seconds=LEASE)
    assert queue.fail(job, "timeout talking to the target") is JobState.TODO
    others = queue.claim("w1", limit=10, lease_seconds=LEASE)
    assert [other.event_id for other in others] == ["b1"], "a2 must not overtake a1 in backoff"
    queue.complete(others)
    clock.advance(3600)
    retried = queue.claim("w1", limit=10, lease_seconds=LEASE)
    assert [retry.event_id for retry in retried] == ["a1", "a2"]
    assert retried[0].attempts == 2


def _retry_after_is_honoured(queue: JobQueue, clock: FakeClock, reopen: Reopen) -> None:
    queue.enqueue([event("a1", "a")], source=SOURCE)
    [job] = queue.claim("w1", limit=1, lease_seconds=LEASE)
    queue.fail(job, "429 Too Many Requests", retry_after=1000.0)
    clock.advance(999)
    assert queue.claim("w1", limit=1, lease_seconds=LEASE) == []
    clock.advance(2)
    assert [again.event_id for again in queue.claim("w1", limit=1, lease_seconds=LEASE)] == ["a1"]


def _dead_letter_after_max_attempts(queue: JobQueue, clock: FakeClock, reopen: Reopen) -> None:
    queue.enqueue([event("a1", "a"), event("a2", "a")], source=SOURCE)
    states = []
    for _ in range(queue.max_attempts):
        [job] = queue.claim("w1", limit=1, lease_seconds=LEASE)
        assert job.event_id == "a1"
        states.append(queue.fail(job, f"boom {job.attempts}"))
        clock.advance(3600)
    assert states == [JobState.TODO] * (queue.max_attempts - 1) + [JobState.DEAD]
    [dead] = queue.dead_letters()
    assert (dead.event_id, dead.lock_key, dead.attempts) == ("a1", "a", queue.max_attempts)
    assert dead.error == f"boom {queue.max_attempts}"
    assert dead.to_event().entity_key == "a"
    status = queue.status()
    assert status.dead_letters == 1
    assert status.recent_failures[0].dead
    assert status.summary.endswith(", 1 dead letter"), "the headline never hides dead letters"
    assert [job.event_id for job in queue.claim("w1", limit=5)] == ["a2"], "a dead letter must not block"


def _permanent_failure_is_dead_at_once(queue: JobQueue, clock: FakeClock, reopen: Reopen) -> None:
    queue.enqueue([event("a1", "a")], source=SOURCE)
    [job] = queue.claim("w1", limit=1)
    assert queue.fail(job, "INVALID_FIELD: Status__c", permanent=True) is JobState.DEAD
    assert queue.state_of(job.id) is JobState.DEAD
    assert queue.dead_letters()[0].error == "INVALID_FIELD: Status__c"


def _expired_lease_is_taken_back_and_fenced(queue: JobQueue, clock: FakeClock, reopen: Reopen) -> None:
    queue.enqueue([event("a1", "a")], source=SOURCE)
    [crashed] = queue.claim("w1", limit=1, lease_seconds=LEASE)
    clock.advance(LEASE + 1)
    [taken] = queue.claim("w2", limit=1, lease_seconds=LEASE)
    assert taken.id == crashed.id
    assert taken.attempts == 2
    assert taken.lease_token != crashed.lease_token
    assert queue.complete([crashed]) == [], "a lost lease must not settle the job"
    assert queue.fail(crashed, "late") is None
    assert queue.release([crashed]) == []
    assert queue.extend(crashed, LEASE) is None
    assert queue.state_of(taken.id) is JobState.DOING
    assert queue.complete([taken]) == [taken.id]
    assert queue.state_of(taken.id) is JobState.DONE


def _recover_expired_counts_and_dead_letters(queue: JobQueue, clock: FakeClock, reopen: Reopen) -> None:
    queue.enqueue([event("a1", "a"), event("b1", "b")], source=SOURCE)
    queue.claim("w1", limit=2, lease_seconds=LEASE)
    assert queue.recover_expired() == 0
    clock.advance(LEASE + 1)
    assert queue.recover_expired() == 2
    assert queue.status().counts.get(JobState.TODO) == 2
    # A job that crashes its worker every time ends as a dead letter, not a loop.
    for _ in range(queue.max_attempts - 1):
        assert len(queue.claim("w1", limit=2, lease_seconds=LEASE)) == 2
        clock.advance(LEASE + 1)
        queue.recover_expired()
    assert queue.status().dead_letters == 2
    assert "lease expired" in queue.dead_letters()[0].error


def _extend_keeps_the_lease(queue: JobQueue, clock: FakeClock, reopen: Reopen) -> None:
    queue.enqueue([event("a1", "a")], source=SOURCE)
    [job] = queue.claim("w1", limit=1, lease_seconds=LEASE)
    clock.advance(LEASE - 1)
    extended = queue.extend(job, LEASE)
    assert extended is not None
    assert extended.lease_until > job.lease_until
    clock.advance(LEASE - 1)
    assert queue.recover_expired() == 0
    assert queue.complete([extended]) == [job.id]


def _release_does_not_count_the_attempt(queue: JobQueue, clock: FakeClock, reopen: Reopen) -> None:
    queue.enqueue([event("a1", "a")], source=SOURCE)
    [job] = queue.claim("w1", limit=1)
    assert queue.release([job], delay=60) == [job.id]
    assert queue.claim("w1", limit=1) == []
    clock.advance(61)
    [again] = queue.claim("w1", limit=1)
    assert again.attempts == 1


def _status_headline_is_not_empty_with_dead_letters(
    queue: JobQueue, clock: FakeClock, reopen: Reopen
) -> None:
    queue.enqueue([event("d1", "d")], source=SOURCE)
    for _ in range(queue.max_attempts):
        [job] = queue.claim("w1", limit=1, lease_seconds=LEASE)
        queue.fail(job, "boom")
        clock.advance(3600)
    status = queue.status()
    assert status.health is QueueHealth.EMPTY  # nothing waiting: monitoring stays calm
    assert status.summary == "Nothing waiting, 1 dead letter"


def _status_reports_health(queue: JobQueue, clock: FakeClock, reopen: Reopen) -> None:
    empty = queue.status()
    assert (empty.health, empty.summary, empty.waiting) == (QueueHealth.EMPTY, "Empty", 0)
    assert empty.last_processed_at is None
    queue.enqueue([event(f"e{i}", f"k{i}") for i in range(12)], source=SOURCE)
    waiting = queue.status(stalled_after=60)
    assert (waiting.health, waiting.summary) == (QueueHealth.WAITING, "Waiting 12")
    clock.advance(61)
    stalled = queue.status(stalled_after=60)
    assert stalled.health is QueueHealth.STALLED
    assert stalled.summary.startswith("Stalled (12 waiting")
    assert stalled.oldest_waiting_age is not None
    assert stalled.oldest_waiting_age >= 61
    jobs = queue.claim("w1", limit=12)
    queue.complete(jobs[:1])
    for job in jobs[1:]:
        queue.fail(job, f"error {job.event_id}")
    status = queue.status()
    assert status.last_processed_at == clock.now
    assert len(status.recent_failures) == 10
    assert status.recent_failures[0].event_id == "e11", "newest failure first"
    assert status.recent_failures[0].error == "error e11"
    assert status.as_json()["counts"]["done"] == 1
    assert status.as_json()["recent_failures"][0]["key"] == "k11"


def _requeue_brings_dead_letters_back(queue: JobQueue, clock: FakeClock, reopen: Reopen) -> None:
    queue.enqueue([event("a1", "a"), event("b1", "b"), event("c1", "c")], source=SOURCE)
    for job in queue.claim("w1", limit=3):
        queue.fail(job, "bad", permanent=True)
    dead = queue.dead_letters()
    assert len(dead) == 3
    assert queue.requeue([dead[0].job_id]) == 1
    [one] = queue.claim("w1", limit=10)
    assert (one.id, one.attempts) == (dead[0].job_id, 1)
    assert queue.requeue(None, reset_attempts=False) == 2
    assert queue.status().dead_letters == 0
    again = queue.claim("w1", limit=10)
    assert sorted(job.attempts for job in again) == [2, 2]


def _throughput_counts_completed_jobs_since(queue: JobQueue, clock: FakeClock, reopen: Reopen) -> None:
    queue.enqueue([event("a1", "a"), event("b1", "b")], source=SOURCE)
    queue.enqueue([event("x1", "x")], source="other")
    since = clock()
    clock.advance(10)
    queue.complete(queue.claim("w1", limit=10))
    assert queue.processed_since(since) == 3
    assert queue.processed_since(since, source=SOURCE) == 2
    assert queue.processed_since(clock() + 1) == 0


def _clear_failures_forgets_recent_failures_only(queue: JobQueue, clock: FakeClock, reopen: Reopen) -> None:
    queue.enqueue([event("a1", "a")], source=SOURCE)
    queue.enqueue([event("x1", "x")], source="other")
    for job in queue.claim("w1", limit=10):
        queue.fail(job, "bad", permanent=True)
    assert len(queue.status().recent_failures) == 2
    assert queue.clear_failures(source=SOURCE) == 1
    assert [failure.event_id for failure in queue.status().recent_failures] == ["x1"]
    assert queue.clear_failures() == 1
    assert queue.status().recent_failures == ()
    assert queue.status().dead_letters == 2  # the dead letters themselves stay


def _purge_forgets_old_settled_jobs_only(queue: JobQueue, clock: FakeClock, reopen: Reopen) -> None:
    queue.enqueue([event("a1", "a"), event("b1", "b"), event("c1", "c")], source=SOURCE, ignored={"c1"})
    done, dead = queue.claim("w1", limit=2)
    queue.complete([done])
    queue.fail(dead, "bad", permanent=True)
    queue.enqueue([event("d1", "d")], source=SOURCE)
    clock.advance(100)
    assert queue.purge(clock.now - 200) == 0
    assert queue.purge(clock.now) == 2
    status = queue.status()
    assert status.counts == {JobState.DEAD: 1, JobState.TODO: 1}
    assert queue.enqueue([event("a1", "a")], source=SOURCE).queued == 1, "a purged id is forgotten"


def _accepted_jobs_survive_reopening(queue: JobQueue, clock: FakeClock, reopen: Reopen) -> None:
    queue.enqueue([event("a1", "a"), event("a2", "a")], source=SOURCE)
    [leased] = queue.claim("w1", limit=1, lease_seconds=LEASE)
    queue.close()
    reopened = reopen()
    try:
        assert reopened.enqueue([event("a1", "a")], source=SOURCE).duplicates == 1
        clock.advance(LEASE + 1)
        jobs = reopened.claim("w2", limit=10, lease_seconds=LEASE)
        assert [job.event_id for job in jobs] == ["a1", "a2"]
        assert jobs[0].id == leased.id
    finally:
        reopened.close()


def _concurrent_claims_never_share_a_job(queue: JobQueue, clock: FakeClock, reopen: Reopen) -> None:
    queue.enqueue([event(f"e{i}", f"k{i % 7}") for i in range(300)], source=SOURCE)
    seen: list[list[Job]] = [[] for _ in range(4)]

    def work(index: int) -> None:
        while jobs := queue.claim(f"w{index}", limit=5, lease_seconds=LEASE):
            seen[index].extend(jobs)
            queue.complete(jobs)

    threads = [threading.Thread(target=work, args=(index,)) for index in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    ids = [job.id for jobs in seen for job in jobs]
    assert len(ids) == 300
    assert len(set(ids)) == 300
    assert queue.status().counts.get(JobState.DONE) == 300


def _ordering_keys_and_role_are_kept(queue: JobQueue, clock: FakeClock, reopen: Reopen) -> None:
    sent = SourceEvent(
        id="e1",
        type="Lead Created",
        entity_key="a@example.com",
        occurred_at=3.0,
        payload={"email": "a@example.com"},
        ordering_keys=("lead:a@example.com", "account:acme"),
        role=EventRole.DOCUMENT,
        tenant="user-1",
    )
    queue.enqueue([sent, event("e2", "b")], source=SOURCE)
    first, second = queue.claim("w1", limit=10, lease_seconds=LEASE)
    assert (first.ordering_keys, first.role) == (sent.ordering_keys, EventRole.DOCUMENT)
    assert (first.tenant, second.tenant) == ("user-1", ""), "the tenant is kept ('' when none)"
    assert first.to_event() == sent
    assert first.version_keys == sent.version_keys
    assert (second.ordering_keys, second.role, second.version_keys) == ((), EventRole.TRIGGER, ("b",))
    queue.fail(first, "boom", permanent=True)
    [letter] = queue.dead_letters()
    assert letter.to_event() == sent, "a dead letter keeps what replay needs"


def _sources_are_kept_apart(queue: JobQueue, clock: FakeClock, reopen: Reopen) -> None:
    queue.enqueue([event("e1", "a"), event("e2", "a")], source="one")
    queue.enqueue([event("e1", "a")], source="two")
    assert queue.sources() == ["one", "two"]
    [two] = queue.claim("w2", limit=10, lease_seconds=LEASE, source="two")
    assert (two.source, two.event_id) == ("two", "e1")
    # key "a" of "two" is leased: "one"'s key "a" is another entity and still runs
    ones = queue.claim("w1", limit=10, lease_seconds=LEASE, source="one")
    assert [(job.source, job.event_id) for job in ones] == [("one", "e1"), ("one", "e2")]
    queue.fail(two, "boom", permanent=True)
    queue.complete(ones)
    assert queue.status(source="one").counts == {JobState.DONE: 2}
    assert queue.status(source="two").counts == {JobState.DEAD: 1}
    assert [failure.event_id for failure in queue.status(source="two").recent_failures] == ["e1"]
    assert queue.status(source="one").recent_failures == ()
    assert queue.status().counts == {JobState.DONE: 2, JobState.DEAD: 1}
    assert [letter.source for letter in queue.dead_letters(source="two")] == ["two"]
    assert queue.dead_letters(source="one") == []


def _write_probe_succeeds_and_leaves_no_job(queue: JobQueue, clock: FakeClock, reopen: Reopen) -> None:
    """``check_writable`` passes on a healthy queue, and neither adds jobs nor touches them."""
    queue.enqueue([event("e1", "p1")], source=SOURCE)
    queue.check_writable()
    queue.check_writable()  # a second probe of the same queue passes too
    assert queue.status().counts == {JobState.TODO: 1}
    assert queue.sources() == [SOURCE]
    assert [job.event_id for job in queue.claim("w", limit=10, lease_seconds=LEASE)] == ["e1"]


def _wake_on_enqueue_can_be_stopped(queue: JobQueue, clock: FakeClock, reopen: Reopen) -> None:
    """Listening for other processes' commits starts and stops cleanly (twice is fine) and
    changes nothing in the queue (whether the event is set depends on the backend)."""
    wake = threading.Event()
    stop = queue.wake_on_enqueue(wake)
    try:
        reopen().enqueue([event("e1", "a")], source=SOURCE)
    finally:
        stop()
        stop()
    assert [job.event_id for job in queue.claim("w1", limit=5, lease_seconds=LEASE)] == ["e1"]


TEMPLATES: dict[str, Callable[[JobQueue, FakeClock, Reopen], None]] = {
    "enqueue_then_claim_in_order": _enqueue_then_claim_in_order,
    "duplicates_are_acknowledged_not_queued": _duplicates_are_acknowledged_not_queued,
    "ignored_events_are_recorded_not_handed_out": _ignored_events_are_recorded_not_handed_out,
    "group_commit_gives_one_result_per_group": _group_commit_gives_one_result_per_group,
    "one_key_is_never_worked_on_twice_at_once": _one_key_is_never_worked_on_twice_at_once,
    "one_claim_may_take_a_key_run_in_order": _one_claim_may_take_a_key_run_in_order,
    "failed_job_waits_for_backoff_and_blocks_its_key": _failed_job_waits_for_backoff_and_blocks_its_key,
    "retry_after_is_honoured": _retry_after_is_honoured,
    "dead_letter_after_max_attempts": _dead_letter_after_max_attempts,
    "permanent_failure_is_dead_at_once": _permanent_failure_is_dead_at_once,
    "expired_lease_is_taken_back_and_fenced": _expired_lease_is_taken_back_and_fenced,
    "recover_expired_counts_and_dead_letters": _recover_expired_counts_and_dead_letters,
    "extend_keeps_the_lease": _extend_keeps_the_lease,
    "release_does_not_count_the_attempt": _release_does_not_count_the_attempt,
    "status_reports_health": _status_reports_health,
    "status_headline_is_not_empty_with_dead_letters": _status_headline_is_not_empty_with_dead_letters,
    "requeue_brings_dead_letters_back": _requeue_brings_dead_letters_back,
    "purge_forgets_old_settled_jobs_only": _purge_forgets_old_settled_jobs_only,
    "throughput_counts_completed_jobs_since": _throughput_counts_completed_jobs_since,
    "clear_failures_forgets_recent_failures_only": _clear_failures_forgets_recent_failures_only,
    "accepted_jobs_survive_reopening": _accepted_jobs_survive_reopening,
    "concurrent_claims_never_share_a_job": _concurrent_claims_never_share_a_job,
    "ordering_keys_and_role_are_kept": _ordering_keys_and_role_are_kept,
    "sources_are_kept_apart": _sources_are_kept_apart,
    "wake_on_enqueue_can_be_stopped": _wake_on_enqueue_can_be_stopped,
    "write_probe_succeeds_and_leaves_no_job": _write_probe_succeeds_and_leaves_no_job,
}


def _method(template: Callable[[JobQueue, FakeClock, Reopen], None]) -> Callable[..., None]:
    def test(self: Any, queue_under_test: tuple[JobQueue, FakeClock, Reopen]) -> None:
        template(*queue_under_test)

    test.__doc__ = template.__doc__
    return test


def get_queue_test_class(make_queue: QueueMaker, *, max_attempts: int = MAX_ATTEMPTS) -> type:
    """A pytest class with one test per queue guarantee, run against ``make_queue``."""

    @pytest.fixture
    def queue_under_test(self: Any, tmp_path: Path) -> Iterator[tuple[JobQueue, FakeClock, Reopen]]:
        clock = FakeClock()
        opened: list[JobQueue] = []

        def reopen() -> JobQueue:
            queue = make_queue(tmp_path, clock=clock, max_attempts=max_attempts)
            opened.append(queue)
            return queue

        try:
            yield reopen(), clock, reopen
        finally:
            for queue in opened:
                queue.close()

    namespace: dict[str, Any] = {"queue_under_test": queue_under_test}
    for name, template in TEMPLATES.items():
        namespace[f"test_{name}"] = _method(template)
    return type("QueueConformance", (), namespace)


# --- the model-based property test ----------------------------------------------------------


@dataclass
class _ModelJob:
    job_id: int
    key: str
    state: JobState = JobState.TODO
    attempts: int = 0
    lease: Job | None = None


@dataclass
class _Model:
    jobs: dict[str, _ModelJob] = field(default_factory=dict)  # event id -> job
    by_id: dict[int, _ModelJob] = field(default_factory=dict)


def get_queue_state_machine(
    make_queue: QueueMaker, *, max_examples: int | None = None
) -> type[RuleBasedStateMachine]:
    """A Hypothesis state machine checking the queue against a model: per-key order, no job
    lost, none handed out twice while leased, dedupe, dead letters after N attempts, recovery
    after lease expiry, fencing of lost leases.

    ``max_examples`` defaults to the loaded Hypothesis profile's."""

    class QueueModel(RuleBasedStateMachine):
        leases = Bundle("leases")

        def __init__(self) -> None:
            super().__init__()
            self._directory = tempfile.TemporaryDirectory()
            self.clock = FakeClock()
            self.queue = make_queue(Path(self._directory.name), clock=self.clock, max_attempts=MAX_ATTEMPTS)
            self.model = _Model()

        def teardown(self) -> None:
            self.queue.close()
            self._directory.cleanup()

        @rule(
            batch=st.lists(st.tuples(st.integers(0, 40), st.sampled_from("abcd")), min_size=1, max_size=8),
            ignore=st.sets(st.integers(0, 40), max_size=3),
        )
        def enqueue(self, batch: list[tuple[int, str]], ignore: set[int]) -> None:
            events = [event(f"e{number}", key) for number, key in batch]
            ignored = {f"e{number}" for number in ignore}
            new: list[str] = []
            for item in events:
                if item.id not in self.model.jobs and item.id not in new:
                    new.append(item.id)
            result = self.queue.enqueue(events, source=SOURCE, ignored=ignored)
            new_ignored = [event_id for event_id in new if event_id in ignored]
            new_queued = [event_id for event_id in new if event_id not in ignored]
            assert result.queued == len(new_queued)
            assert result.ignored == len(new_ignored)
            assert result.duplicates == len(events) - len(new)
            assert len(result.job_ids) == len(new_queued)
            keys: dict[str, str] = {}
            for item in events:
                keys.setdefault(item.id, item.entity_key)  # the first copy of an id is the one stored
            for event_id, job_id in zip(new_queued, result.job_ids, strict=True):
                job = _ModelJob(job_id=job_id, key=keys[event_id])
                self.model.jobs[event_id] = job
                self.model.by_id[job_id] = job
            for event_id in new_ignored:  # never handed out; counted in the status only
                self.model.jobs[event_id] = _ModelJob(job_id=-1, key=keys[event_id], state=JobState.IGNORED)

        @rule(target=leases, worker=st.sampled_from(["w1", "w2", "w3"]), limit=st.integers(1, 6))
        def claim(self, worker: str, limit: int) -> list[Job]:
            jobs = self.queue.claim(worker, limit=limit, lease_seconds=LEASE)
            assert len(jobs) <= limit
            claimed = {job.id for job in jobs}
            for job in jobs:
                modelled = self.model.by_id[job.id]
                assert modelled.state is JobState.TODO, f"job {job.id} handed out while {modelled.state}"
                for other in self.model.by_id.values():
                    if other.key == job.lock_key and other.job_id < job.id and other.job_id not in claimed:
                        assert other.state in (JobState.DONE, JobState.DEAD), (
                            f"job {job.id} of key {job.lock_key} handed out before earlier job "
                            f"{other.job_id} ({other.state})"
                        )
                modelled.state = JobState.DOING
                modelled.attempts += 1
                modelled.lease = job
                assert job.attempts == modelled.attempts
            return jobs

        @rule(jobs=leases, data=st.data())
        def settle(self, jobs: list[Job], data: st.DataObject) -> None:
            if not jobs:
                return
            job = data.draw(st.sampled_from(jobs))
            modelled = self.model.by_id[job.id]
            holds = (
                modelled.state is JobState.DOING
                and modelled.lease is not None
                and modelled.lease.lease_token == job.lease_token
            )
            how = data.draw(st.sampled_from(["complete", "fail", "fail_permanent", "release", "extend"]))
            if how == "extend":
                extended = self.queue.extend(job, LEASE)
                assert (extended is not None) == holds
                if extended is not None:
                    assert extended.lease_until == self.clock.now + LEASE
                    modelled.lease = extended
                return
            if how == "complete":
                settled = self.queue.complete([job])
                assert settled == ([job.id] if holds else [])
                if holds:
                    modelled.state = JobState.DONE
            elif how == "release":
                released = self.queue.release([job])
                assert released == ([job.id] if holds else [])
                if holds:
                    modelled.state = JobState.TODO
                    modelled.attempts -= 1
            else:
                state = self.queue.fail(job, "error", permanent=how == "fail_permanent")
                if not holds:
                    assert state is None
                    return
                dead = how == "fail_permanent" or modelled.attempts >= MAX_ATTEMPTS
                assert state is (JobState.DEAD if dead else JobState.TODO)
                modelled.state = state
            if holds:
                modelled.lease = None

        @rule(seconds=st.sampled_from([1.0, 10.0, LEASE + 1, 400.0]))
        def time_passes(self, seconds: float) -> None:
            self.clock.advance(seconds)
            expired = [
                job
                for job in self.model.by_id.values()
                if job.state is JobState.DOING
                and job.lease is not None
                and job.lease.lease_until < self.clock.now
            ]
            assert self.queue.recover_expired() == len(expired)
            for job in expired:
                job.state = JobState.DEAD if job.attempts >= MAX_ATTEMPTS else JobState.TODO
                job.lease = None

        @precondition(lambda self: any(job.state is JobState.DEAD for job in self.model.by_id.values()))
        @rule()
        def requeue_all(self) -> None:
            dead = [job for job in self.model.by_id.values() if job.state is JobState.DEAD]
            assert self.queue.requeue(None) == len(dead)
            for job in dead:
                job.state = JobState.TODO
                job.attempts = 0

        @invariant()
        def no_job_lost(self) -> None:
            counts = self.queue.status().counts
            expected: dict[JobState, int] = {}
            for job in self.model.jobs.values():
                expected[job.state] = expected.get(job.state, 0) + 1
            assert {state: count for state, count in counts.items() if count} == expected

    machine = settings(stateful_step_count=30, deadline=None)
    if max_examples is not None:
        machine = settings(machine, max_examples=max_examples)
    QueueModel.TestCase.settings = machine
    return QueueModel
