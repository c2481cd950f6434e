"""Row <-> value conversions shared by the SQL queue and run-store backends.

The SQLite and PostgreSQL backends run different SQL but read and write the same columns;
these functions are that common part, so both backends build identical values.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from fieldline.contracts import EventRole, SourceEvent
from fieldline.queue.jobs import (
    DeadLetter,
    EnqueueGroup,
    EnqueueResult,
    FailureInfo,
    Job,
    JobState,
    QueueHealth,
    QueueStatus,
    payload_json,
)
from fieldline.queue.run_store import RunLogEntry, redact

__all__ = [
    "EVENT_COLUMNS",
    "KEEP_FAILURES",
    "LEASE_LOST",
    "dead_letter_from_row",
    "enqueue_group",
    "event_fields",
    "failure_from_row",
    "ids_by_token",
    "jobs_from_claim",
    "queue_status",
    "run_log_entry_from_row",
    "run_log_filter",
    "run_log_row",
    "trim_failures_below",
]

# The columns of the event a job carries, in the order :func:`event_fields` reads them.
EVENT_COLUMNS = "source, event_id, event_type, lock_key, payload, occurred_at, ordering_keys, role, tenant"

LEASE_LOST = "lease expired: the worker holding it stopped or took too long"
KEEP_FAILURES = 1000  # failure history rows kept for ``status``


def event_fields(row: Sequence[Any]) -> dict[str, Any]:
    """The event fields of a job or dead letter from ``row`` (the :data:`EVENT_COLUMNS`)."""
    source, event_id, event_type, lock_key, payload, occurred_at, ordering_keys, role, tenant = row
    return {
        "source": source,
        "event_id": event_id,
        "event_type": event_type,
        "lock_key": lock_key,
        "payload": json.loads(payload),
        "occurred_at": float(occurred_at),
        "ordering_keys": tuple(json.loads(ordering_keys)),
        "role": EventRole(role),
        "tenant": tenant or "",
    }


def _insert_parameters(source: str, event: SourceEvent, status: JobState, now: float) -> tuple[Any, ...]:
    """The values of one job's INSERT: source, event_id, event_type, lock_key, payload,
    occurred_at, status, run_after, enqueued_at, finished_at, ordering_keys, role, tenant."""
    return (
        source,
        event.id,
        event.type,
        event.entity_key,
        payload_json(event.payload),
        float(event.occurred_at),
        status.value,
        now,
        now,
        now if status is JobState.IGNORED else None,
        json.dumps(list(event.ordering_keys)),
        EventRole(event.role).value,
        event.tenant,
    )


def enqueue_group(
    group: EnqueueGroup, now: float, insert: Callable[[tuple[Any, ...]], Sequence[Any] | None]
) -> EnqueueResult:
    """Insert one request's events through ``insert`` (the backend's INSERT ... RETURNING id,
    giving the row or ``None`` for a duplicate) and count what happened."""
    queued = duplicates = ignored_count = 0
    job_ids: list[int] = []
    for event in group.events:
        status = JobState.IGNORED if event.id in group.ignored else JobState.TODO
        row = insert(_insert_parameters(group.source, event, status, now))
        if row is None:
            duplicates += 1
        elif status is JobState.IGNORED:
            ignored_count += 1
        else:
            queued += 1
            job_ids.append(int(row[0]))
    return EnqueueResult(queued=queued, duplicates=duplicates, ignored=ignored_count, job_ids=tuple(job_ids))


def jobs_from_claim(rows: Iterable[Sequence[Any]], token: str, until: float) -> list[Job]:
    """Claimed jobs in id order from rows of ``id, <EVENT_COLUMNS>, attempts, enqueued_at``."""
    jobs = [
        Job(
            id=int(row[0]),
            **event_fields(row[1:10]),
            attempts=int(row[10]),
            lease_token=token,
            lease_until=until,
            enqueued_at=float(row[11]),
        )
        for row in rows
    ]
    jobs.sort(key=lambda job: job.id)
    return jobs


def ids_by_token(jobs: Iterable[Job]) -> dict[str, list[int]]:
    """Job ids grouped by lease token: one UPDATE per lease settles its jobs."""
    by_token: dict[str, list[int]] = {}
    for job in jobs:
        by_token.setdefault(job.lease_token, []).append(job.id)
    return by_token


def trim_failures_below(newest: int) -> int | None:
    """The failure id at and below which rows are deleted after inserting ``newest``, or
    ``None`` to keep them: trimmed now and then, not on every failure."""
    return newest - KEEP_FAILURES if newest % 100 == 0 else None


def dead_letter_from_row(row: Sequence[Any]) -> DeadLetter:
    """A dead letter from ``id, <EVENT_COLUMNS>, attempts, last_error, finished_at``."""
    return DeadLetter(
        job_id=int(row[0]),
        **event_fields(row[1:10]),
        attempts=int(row[10]),
        error=row[11] or "",
        failed_at=float(row[12] or 0.0),
    )


def failure_from_row(row: Sequence[Any]) -> FailureInfo:
    """A failure from ``job_id, event_id, lock_key, error, attempts, failed_at, dead``."""
    return FailureInfo(
        job_id=int(row[0]),
        event_id=row[1],
        lock_key=row[2],
        error=row[3],
        attempts=int(row[4]),
        failed_at=float(row[5]),
        dead=bool(row[6]),
    )


def queue_status(
    *,
    now: float,
    stalled_after: float,
    counts: dict[JobState, int],
    oldest_enqueued: Any,
    last_processed: Any,
    failure_rows: Iterable[Sequence[Any]],
) -> QueueStatus:
    """The status snapshot from the counts and the oldest/last times a backend read."""
    oldest_age = max(0.0, now - float(oldest_enqueued)) if oldest_enqueued is not None else None
    if oldest_age is None:
        health = QueueHealth.EMPTY
    elif oldest_age > stalled_after:
        health = QueueHealth.STALLED
    else:
        health = QueueHealth.WAITING
    return QueueStatus(
        health=health,
        counts=counts,
        oldest_waiting_age=oldest_age,
        last_processed_at=float(last_processed) if last_processed is not None else None,
        recent_failures=tuple(failure_from_row(row) for row in failure_rows),
    )


def run_log_row(entry: RunLogEntry, *, source: str, now: float) -> tuple[Any, ...]:
    """The values of one run-log INSERT: at, source, entity_key, event_ids, job_ids, record,
    key, object, action, target_id, written, error."""
    return (
        entry.at or now,
        entry.source or source,
        entry.entity_key,
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


def run_log_filter(source: str | None, entity: str | None, placeholder: str) -> tuple[str, list[object]]:
    """The ``WHERE`` clause (or ``""``) and its parameters for reading the run log."""
    conditions: list[str] = []
    parameters: list[object] = []
    if source is not None:
        conditions.append(f"source = {placeholder}")
        parameters.append(source)
    if entity is not None:
        conditions.append(f"entity_key = {placeholder}")
        parameters.append(entity)
    return (f"WHERE {' AND '.join(conditions)}" if conditions else ""), parameters


def run_log_entry_from_row(row: Sequence[Any]) -> RunLogEntry:
    """A run-log entry from ``id, at, source, entity_key, event_ids, job_ids, record, key,
    object, action, target_id, written, error``."""
    return RunLogEntry(
        id=int(row[0]),
        at=float(row[1]),
        source=row[2],
        entity_key=row[3],
        event_ids=tuple(json.loads(row[4])),
        job_ids=tuple(json.loads(row[5])),
        record=row[6],
        key=row[7],
        object=row[8],
        action=row[9],
        target_id=row[10],
        written=json.loads(row[11]),
        error=row[12],
    )
