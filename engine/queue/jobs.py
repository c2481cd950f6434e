"""The durable job queue: the :class:`JobQueue` contract and its values.

One job is one accepted source event (a webhook), kept under its ``source`` (the queue of one
spec's source: ``serve`` with several specs keeps their jobs apart in one queue) and keyed by
the entity it is about (``lock_key``, e.g. a PassFort profile id). The contract every backend
keeps:

- ``enqueue`` is durable before it returns and dedupes by ``(source, event id)``;
- jobs of one ``(source, key)`` are handed out in the order they were enqueued, and never while
  an earlier job of that key is held by another claim or waiting for a retry (per-key order);
- a claim is a lease: settling needs the lease token, so a worker whose lease expired (and was
  taken back) cannot settle a job someone else now holds (fencing);
- failures retry with exponential backoff and jitter (at least the server's Retry-After), and
  after ``max_attempts`` the job becomes a dead letter with its error kept.

The embedded backend is SQLite (:mod:`fieldline.queue.sqlite_queue`); a backend ships the queue
together with the run store (:mod:`fieldline.queue.storage`).
"""

from __future__ import annotations

import enum
import json
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypedDict, runtime_checkable

from fieldline.contracts import EventRole, SourceEvent

__all__ = [
    "DeadLetter",
    "EnqueueGroup",
    "EnqueueResult",
    "FailureInfo",
    "Job",
    "JobQueue",
    "JobState",
    "QueueHealth",
    "QueueStatus",
    "QueueStatusJSON",
    "QueuedEvent",
    "payload_json",
]


class JobState(enum.StrEnum):
    """Where a job stands. ``todo`` and ``doing`` are live; the rest are final."""

    TODO = "todo"  # waiting (possibly until ``run_after``, for a retry)
    DOING = "doing"  # leased by a worker
    DONE = "done"  # settled: applied, or stale (a newer event already applied)
    DEAD = "dead"  # dead letter: gave up, error kept; ``requeue`` brings it back
    IGNORED = "ignored"  # accepted and recorded, but the spec does not process its event type


class QueueHealth(enum.StrEnum):
    EMPTY = "empty"  # nothing waiting
    WAITING = "waiting"  # jobs waiting, the oldest younger than the stall threshold
    STALLED = "stalled"  # the oldest waiting job is older than the threshold


@dataclass(frozen=True, slots=True, kw_only=True)
class QueuedEvent:
    """A source event as the queue keeps it: under its ``source``, keyed by ``lock_key``."""

    source: str
    event_id: str
    event_type: str
    lock_key: str
    occurred_at: float
    payload: Mapping[str, Any] = field(default_factory=dict)
    ordering_keys: tuple[str, ...] = ()
    role: EventRole = EventRole.TRIGGER
    tenant: str = ""

    def to_event(self) -> SourceEvent:
        """The source event, as the source parsed it."""
        return SourceEvent(
            id=self.event_id,
            type=self.event_type,
            entity_key=self.lock_key,
            occurred_at=self.occurred_at,
            payload=self.payload,
            ordering_keys=self.ordering_keys,
            role=self.role,
            tenant=self.tenant,
        )

    @property
    def version_keys(self) -> tuple[str, ...]:
        """The keys whose applied versions this event is checked against (see :class:`SourceEvent`)."""
        return self.ordering_keys or (self.lock_key,)


@dataclass(frozen=True, slots=True, kw_only=True)
class Job(QueuedEvent):
    """One leased job. ``lease_token`` proves the lease when settling it."""

    id: int
    attempts: int  # including the current one
    lease_token: str
    lease_until: float
    enqueued_at: float


@dataclass(frozen=True, slots=True)
class EnqueueResult:
    """What one ``enqueue`` call did. ``job_ids`` are the ids of newly stored jobs."""

    queued: int = 0
    duplicates: int = 0  # already known (source, event id): acknowledged, not stored again
    ignored: int = 0  # stored as ``ignored``: never handed out
    job_ids: tuple[int, ...] = ()

    @property
    def accepted(self) -> int:
        return self.queued + self.duplicates + self.ignored


@dataclass(frozen=True, slots=True)
class EnqueueGroup:
    """Events from one request, for a group commit of many requests in one transaction."""

    source: str
    events: Sequence[SourceEvent]
    ignored: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class FailureInfo:
    """One failed attempt, for ``status``."""

    job_id: int
    event_id: str
    lock_key: str
    error: str
    attempts: int
    failed_at: float
    dead: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class DeadLetter(QueuedEvent):
    """A job the queue gave up on, with the error that made it give up."""

    job_id: int
    attempts: int
    error: str
    failed_at: float


class FailureJSON(TypedDict):
    job_id: int
    event_id: str
    key: str
    error: str
    attempts: int
    failed_at: float
    dead: bool


class QueueStatusJSON(TypedDict):
    health: str
    summary: str
    waiting: int
    counts: dict[str, int]
    oldest_waiting_age_s: float | None
    last_processed_at: float | None
    dead_letters: int
    recent_failures: list[FailureJSON]


@dataclass(frozen=True, slots=True)
class QueueStatus:
    """A snapshot of the queue for ``GET /status`` and ``fieldline status``."""

    health: QueueHealth
    counts: Mapping[JobState, int]
    oldest_waiting_age: float | None
    last_processed_at: float | None
    recent_failures: tuple[FailureInfo, ...] = ()

    @property
    def waiting(self) -> int:
        """Jobs not yet settled: waiting or being worked on."""
        return self.counts.get(JobState.TODO, 0) + self.counts.get(JobState.DOING, 0)

    @property
    def dead_letters(self) -> int:
        return self.counts.get(JobState.DEAD, 0)

    @property
    def summary(self) -> str:
        """``Empty``, ``Waiting 12`` or ``Stalled (12 waiting, oldest 312 s)``; with dead letters
        never ``Empty``: ``Nothing waiting, 3 dead letters``."""
        dead = self.dead_letters
        letters = f"{dead} dead letter{'s' if dead != 1 else ''}"
        if self.health is QueueHealth.EMPTY:
            return f"Nothing waiting, {letters}" if dead else "Empty"
        suffix = f", {letters}" if dead else ""
        if self.health is QueueHealth.WAITING:
            return f"Waiting {self.waiting}{suffix}"
        age = f", oldest {self.oldest_waiting_age:.0f} s" if self.oldest_waiting_age is not None else ""
        return f"Stalled ({self.waiting} waiting{age}){suffix}"

    def as_json(self) -> QueueStatusJSON:
        return {
            "health": self.health.value,
            "summary": self.summary,
            "waiting": self.waiting,
            "counts": {state.value: int(self.counts.get(state, 0)) for state in JobState},
            "oldest_waiting_age_s": self.oldest_waiting_age,
            "last_processed_at": self.last_processed_at,
            "dead_letters": self.dead_letters,
            "recent_failures": [
                {
                    "job_id": failure.job_id,
                    "event_id": failure.event_id,
                    "key": failure.lock_key,
                    "error": failure.error,
                    "attempts": failure.attempts,
                    "failed_at": failure.failed_at,
                    "dead": failure.dead,
                }
                for failure in self.recent_failures
            ],
        }


@runtime_checkable
class JobQueue(Protocol):
    """A durable, deduplicating job queue with per-key order, leases and dead letters."""

    max_attempts: int

    def enqueue(
        self, events: Sequence[SourceEvent], *, source: str, ignored: Iterable[str] = ()
    ) -> EnqueueResult:
        """Store ``events`` durably (committed before returning), one job each, in order.

        An event whose ``(source, id)`` is already known is acknowledged, not stored again.
        Events whose id is in ``ignored`` are stored as ``ignored`` (recorded, never handed out).
        """
        ...

    def enqueue_groups(self, groups: Sequence[EnqueueGroup]) -> list[EnqueueResult]:
        """Like :meth:`enqueue` for several requests at once, committed in one transaction
        (group commit); one result per group, in order."""
        ...

    def claim(
        self, worker_id: str, *, limit: int = 100, lease_seconds: float = 60.0, source: str | None = None
    ) -> list[Job]:
        """Lease up to ``limit`` runnable jobs, oldest first, keeping per-key order.

        Several jobs of one key may come in one claim (in order); a job is never handed out
        while an earlier job of its ``(source, key)`` is leased elsewhere or waiting for a
        retry. With ``source``, only that source's jobs. Expired leases are taken back first.
        """
        ...

    def complete(self, jobs: Iterable[Job], *, note: str | None = None) -> list[int]:
        """Settle jobs as done. Returns the ids settled; jobs whose lease was lost are left alone."""
        ...

    def fail(
        self,
        job: Job,
        error: str,
        *,
        retry_after: float | None = None,
        permanent: bool = False,
    ) -> JobState | None:
        """Record a failed attempt: retry later (backoff with jitter, at least ``retry_after``
        seconds), or dead-letter it when ``permanent`` or out of attempts.

        Returns the job's new state, or ``None`` when the lease was lost (nothing changed).
        """
        ...

    def release(self, jobs: Iterable[Job], *, delay: float = 0.0) -> list[int]:
        """Give leased jobs back without counting the attempt (e.g. the API budget is used up)."""
        ...

    def extend(self, job: Job, lease_seconds: float) -> Job | None:
        """Extend a lease; ``None`` when it was already lost."""
        ...

    def recover_expired(self) -> int:
        """Take back jobs whose lease expired (a crashed worker); returns how many."""
        ...

    def status(self, *, stalled_after: float = 300.0, source: str | None = None) -> QueueStatus:
        """Counts by state, oldest waiting age, last processed time, recent failures (of one
        ``source``, or of all)."""
        ...

    def sources(self) -> list[str]:
        """Every source that has jobs in the queue, sorted."""
        ...

    def processed_since(self, since: float, *, source: str | None = None) -> int:
        """How many jobs were completed (``done``) at or after ``since`` (epoch seconds)."""
        ...

    def clear_failures(self, *, source: str | None = None) -> int:
        """Forget the recorded failed attempts (of one ``source``, or of all) that ``status``
        lists as recent failures; returns how many. Jobs and dead letters stay as they are."""
        ...

    def dead_letters(self, limit: int = 100, *, source: str | None = None) -> list[DeadLetter]:
        """The newest dead letters first (of one ``source``, or of all)."""
        ...

    def requeue(self, job_ids: Iterable[int] | None = None, *, reset_attempts: bool = True) -> int:
        """Send dead letters (all when ``job_ids`` is ``None``) back to the queue."""
        ...

    def purge(self, settled_before: float) -> int:
        """Delete ``done`` and ``ignored`` jobs settled before this time (epoch seconds); returns
        how many. Dead letters and live jobs stay."""
        ...

    def state_of(self, job_id: int) -> JobState | None:
        """One job's state, or ``None`` when no such job exists."""
        ...

    def check_writable(self) -> None:
        """Raise :class:`~fieldline.errors.QueueError` when the queue cannot store an event now.

        A small durable write (committed like an enqueue), so a read-only file, a full disk or
        an I/O error shows here: ``serve`` runs it at start-up and ``GET /healthz`` on demand."""
        ...

    def wake_on_enqueue(self, wake: threading.Event) -> Callable[[], None]:
        """Set ``wake`` whenever jobs are committed by any process sharing this queue, so idle
        workers claim at once instead of at their next poll; returns a function that stops it.
        A backend that cannot tell other processes' commits returns a no-op (workers poll)."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


def payload_json(payload: Mapping[str, Any]) -> str:
    """The payload as compact JSON (backends store it as text)."""
    return json.dumps(payload, separators=(",", ":"), sort_keys=True, default=str)
