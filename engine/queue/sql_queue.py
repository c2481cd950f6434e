"""The logic the SQL job queues share; each backend fills in its SQL and its transactions.

:class:`SQLJobQueueBase` runs every operation whose steps are the same on SQLite and
PostgreSQL (claim, settle, retry, recover, requeue, purge, ...). A backend gives the statements
as class attributes (in its own placeholder style) and says how it opens a transaction
(:meth:`~SQLJobQueueBase._writing`), reads (:meth:`~SQLJobQueueBase._reading`), passes a list
of ids and stores one failure row.
"""

from __future__ import annotations

import random
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import replace
from typing import Any, ClassVar

from fieldline.backoff import backoff_delay
from fieldline.contracts import SourceEvent
from fieldline.errors import ConfigError
from fieldline.queue.jobs import DeadLetter, EnqueueGroup, EnqueueResult, Job, JobState
from fieldline.queue.sql_rows import (
    EVENT_COLUMNS,
    LEASE_LOST,
    dead_letter_from_row,
    ids_by_token,
    jobs_from_claim,
    trim_failures_below,
)

__all__ = ["Failure", "SQLJobQueueBase"]

# One failure-history row: source, job_id, event_id, lock_key, error, attempts, failed_at, dead.
Failure = tuple[str, int, str, str, str, int, float, bool]


class SQLJobQueueBase(ABC):
    """Base of the SQLite and PostgreSQL job queues (``connection`` is the backend's own)."""

    # The backend's placeholder ("?" or "%s") and its statements, parameters in the order used below.
    PLACEHOLDER: ClassVar[str]
    CLAIM: ClassVar[str]  # named: token, until, worker, now, limit, source
    COMPLETE: ClassVar[str]  # now, note, token, ids
    FAIL: ClassVar[str]  # state, run_after, error, finished_at, id, token
    RELEASE: ClassVar[str]  # run_after, id, token
    EXTEND: ClassVar[str]  # until, id, token
    RECOVER: ClassVar[str]  # named: max, now, error
    RECOVER_COLUMNS: ClassVar[tuple[str, ...]]  # the names of what RECOVER returns, in order
    TRIM_FAILURES: ClassVar[str]  # the highest id to delete
    REQUEUE: ClassVar[str]  # run_after; ``{attempts}`` is the new attempts expression
    REQUEUE_IDS: ClassVar[str]  # appended to REQUEUE with the ids
    PURGE: ClassVar[str]  # settled_before; ``{state}`` is the state literal
    WRITE_PROBE: ClassVar[str]  # at

    max_attempts: int
    backoff_base: float
    backoff_max: float
    recover_interval: float
    clock: Callable[[], float]

    def _init_retries(
        self,
        *,
        max_attempts: int,
        backoff_base: float,
        backoff_max: float,
        recover_interval: float,
        clock: Callable[[], float],
        rng: random.Random | None,
    ) -> None:
        """Check and keep the retry settings the constructors take."""
        self.clock = clock
        self._rng = rng or random.Random()
        self._last_recovery = float("-inf")
        if max_attempts < 1:
            raise ConfigError("max_attempts must be at least 1")
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.recover_interval = recover_interval

    # --- what a backend provides --------------------------------------------------------------

    @abstractmethod
    def _writing(self, what: str) -> AbstractContextManager[Any]:
        """A connection in one write transaction, committed when the block ends."""

    @abstractmethod
    def _reading(self, what: str, sql: str, parameters: Sequence[Any] = ()) -> list[Any]:
        """The rows of one read."""

    @abstractmethod
    def _id_list(self, ids: list[int]) -> object:
        """``ids`` as the one parameter of an ``id in ...`` condition."""

    @abstractmethod
    def _insert_failure(self, connection: Any, failure: Failure) -> int:
        """Store one failure-history row; its id."""

    @abstractmethod
    def enqueue_groups(self, groups: Sequence[EnqueueGroup]) -> list[EnqueueResult]:
        """Store several requests' events in one transaction (group commit), one result each."""

    @abstractmethod
    def _before_claim(self, connection: Any) -> None:
        """Run first in a claim's transaction (PostgreSQL serialises claims here)."""

    # --- producing ----------------------------------------------------------------------------

    def enqueue(
        self, events: Sequence[SourceEvent], *, source: str, ignored: Iterable[str] = ()
    ) -> EnqueueResult:
        """Store events durably in one transaction; dedupe by (source, id)."""
        return self.enqueue_groups([EnqueueGroup(source, events, frozenset(ignored))])[0]

    # --- consuming ----------------------------------------------------------------------------

    def claim(
        self, worker_id: str, *, limit: int = 100, lease_seconds: float = 60.0, source: str | None = None
    ) -> list[Job]:
        """Lease up to ``limit`` runnable jobs in id order, keeping per-key order."""
        if limit < 1:
            return []
        now = self.clock()
        token = uuid.uuid4().hex
        until = now + lease_seconds
        with self._writing("claim") as connection:
            self._before_claim(connection)
            if now - self._last_recovery >= self.recover_interval:
                self._recover(connection, now)
                self._last_recovery = now
            rows = connection.execute(
                self.CLAIM,
                {
                    "token": token,
                    "until": until,
                    "worker": worker_id,
                    "now": now,
                    "limit": limit,
                    "source": source,
                },
            ).fetchall()
        return jobs_from_claim(rows, token, until)

    def complete(self, jobs: Iterable[Job], *, note: str | None = None) -> list[int]:
        """Settle leased jobs as done; a job whose lease was taken back is left alone."""
        by_token = ids_by_token(jobs)
        if not by_token:
            return []
        now = self.clock()
        settled: list[int] = []
        with self._writing("complete") as connection:
            for token, ids in by_token.items():
                rows = connection.execute(self.COMPLETE, (now, note, token, self._id_list(ids))).fetchall()
                settled.extend(int(row[0]) for row in rows)
        return sorted(settled)

    def fail(
        self,
        job: Job,
        error: str,
        *,
        retry_after: float | None = None,
        permanent: bool = False,
    ) -> JobState | None:
        """Retry later with backoff, or dead-letter when ``permanent`` or out of attempts."""
        now = self.clock()
        dead = permanent or job.attempts >= self.max_attempts
        delay = 0.0 if dead else self.backoff_delay(job.attempts, retry_after)
        state = JobState.DEAD if dead else JobState.TODO
        with self._writing("failure record") as connection:
            row = connection.execute(
                self.FAIL, (state.value, now + delay, error, now if dead else None, job.id, job.lease_token)
            ).fetchone()
            if row is None:
                return None
            self._record_failure(
                connection, (job.source, job.id, job.event_id, job.lock_key, error, job.attempts, now, dead)
            )
        return state

    def backoff_delay(self, attempts: int, retry_after: float | None = None) -> float:
        """Seconds before the next attempt: exponential with jitter, never below ``retry_after``."""
        delay = backoff_delay(
            max(0, attempts - 1), base=self.backoff_base, cap=self.backoff_max, rng=self._rng.random
        )
        if retry_after is not None:
            delay = max(delay, retry_after)
        return delay

    def release(self, jobs: Iterable[Job], *, delay: float = 0.0) -> list[int]:
        """Return leased jobs to ``todo`` without counting the attempt."""
        now = self.clock()
        released: list[int] = []
        with self._writing("release") as connection:
            for job in jobs:
                row = connection.execute(self.RELEASE, (now + delay, job.id, job.lease_token)).fetchone()
                if row is not None:
                    released.append(int(row[0]))
        return released

    def extend(self, job: Job, lease_seconds: float) -> Job | None:
        """Push the lease deadline ``lease_seconds`` from now; ``None`` when the lease was lost."""
        until = self.clock() + lease_seconds
        with self._writing("lease extension") as connection:
            row = connection.execute(self.EXTEND, (until, job.id, job.lease_token)).fetchone()
        if row is None:
            return None
        return replace(job, lease_until=until)

    def recover_expired(self) -> int:
        """Take back expired leases: to ``todo``, or dead when out of attempts."""
        now = self.clock()
        with self._writing("lease recovery") as connection:
            recovered = self._recover(connection, now)
        self._last_recovery = now
        return recovered

    def _recover(self, connection: Any, now: float) -> int:
        rows = connection.execute(
            self.RECOVER, {"max": self.max_attempts, "now": now, "error": LEASE_LOST}
        ).fetchall()
        for row in rows:
            lost = dict(zip(self.RECOVER_COLUMNS, row, strict=True))
            self._record_failure(
                connection,
                (
                    lost["source"],
                    int(lost["id"]),
                    lost["event_id"],
                    lost["lock_key"],
                    LEASE_LOST,
                    int(lost["attempts"]),
                    now,
                    lost["status"] == "dead",
                ),
            )
        return len(rows)

    def _record_failure(self, connection: Any, failure: Failure) -> None:
        below = trim_failures_below(self._insert_failure(connection, failure))
        if below is not None:
            connection.execute(self.TRIM_FAILURES, (below,))

    # --- inspecting ---------------------------------------------------------------------------

    def dead_letters(self, limit: int = 100, *, source: str | None = None) -> list[DeadLetter]:
        """The newest dead letters first."""
        mark = self.PLACEHOLDER
        of_source, parameters = (f"AND source = {mark}", (source,)) if source is not None else ("", ())
        rows = self._reading(
            "dead letters",
            f"SELECT id, {EVENT_COLUMNS}, attempts, last_error, finished_at FROM fieldline_jobs"
            f" WHERE status = 'dead' {of_source} ORDER BY finished_at DESC, id DESC LIMIT {mark}",
            (*parameters, limit),
        )
        return [dead_letter_from_row(row) for row in rows]

    def processed_since(self, since: float, *, source: str | None = None) -> int:
        """Jobs completed at or after ``since``: the console's throughput over the last hour."""
        mark = self.PLACEHOLDER
        of_source, parameters = (f"AND source = {mark}", (source,)) if source is not None else ("", ())
        rows = self._reading(
            "throughput",
            "SELECT COUNT(*) FROM fieldline_jobs"
            f" WHERE status = 'done' AND finished_at >= {mark} {of_source}",
            (since, *parameters),
        )
        return int(rows[0][0]) if rows and rows[0][0] else 0

    def clear_failures(self, *, source: str | None = None) -> int:
        """Forget the recent failures ``status`` lists (the console's "clear" button)."""
        mark = self.PLACEHOLDER
        of_source, parameters = (f"WHERE source = {mark}", (source,)) if source is not None else ("", ())
        with self._writing("clear failures") as connection:
            cursor = connection.execute(f"DELETE FROM fieldline_failures {of_source}", parameters)
            return int(cursor.rowcount)

    def requeue(self, job_ids: Iterable[int] | None = None, *, reset_attempts: bool = True) -> int:
        """Dead letters back to ``todo`` (all of them when ``job_ids`` is ``None``)."""
        now = self.clock()
        sql = self.REQUEUE.format(attempts="0" if reset_attempts else "attempts")
        with self._writing("requeue") as connection:
            if job_ids is None:
                cursor = connection.execute(sql, (now,))
            else:
                cursor = connection.execute(sql + self.REQUEUE_IDS, (now, self._id_list(list(job_ids))))
            return int(cursor.rowcount)

    def purge(self, settled_before: float) -> int:
        """Delete ``done`` and ``ignored`` jobs settled before ``settled_before`` (epoch seconds).

        Dead letters and live jobs stay. A purged event id is forgotten by dedupe: if it is
        delivered again it is queued again (and completed as stale by a worker).
        """
        deleted = 0
        with self._writing("purge") as connection:
            for state in (JobState.DONE, JobState.IGNORED):
                # The state is a literal, not a parameter, so the planner can match the partial index.
                cursor = connection.execute(self.PURGE.format(state=state.value), (settled_before,))
                deleted += int(cursor.rowcount)
        return deleted

    def state_of(self, job_id: int) -> JobState | None:
        """One job's state (for tests and ``replay``); ``None`` if unknown."""
        rows = self._reading(
            "job state", f"SELECT status FROM fieldline_jobs WHERE id = {self.PLACEHOLDER}", (job_id,)
        )
        return JobState(rows[0][0]) if rows else None

    def note_of(self, job_id: int) -> str | None:
        """The note a job was completed with (``stale``, ...)."""
        rows = self._reading(
            "job note", f"SELECT note FROM fieldline_jobs WHERE id = {self.PLACEHOLDER}", (job_id,)
        )
        return rows[0][0] if rows else None

    def check_writable(self) -> None:
        """Commit one row of ``fieldline_write_probe``: fails as an enqueue would (read-only
        file or connection, the server down, disk full, I/O error)."""
        with self._writing("write probe") as connection:
            connection.execute(self.WRITE_PROBE, (self.clock(),))
