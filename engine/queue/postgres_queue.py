"""The shared queue backend: PostgreSQL, for many receivers and workers on several machines.

Claims are one ``UPDATE ... FROM (SELECT ... FOR UPDATE SKIP LOCKED)`` run while holding a
transaction-level advisory lock per schema, so claims of all processes run one after the other
(each a few milliseconds; workers then spend seconds talking to the target). Serialised claims
are what keep per-key order across claimers: two concurrent claims could otherwise both see a
key free and take two of its jobs. ``docs/design-notes.md`` explains the choice.

Job ids come from an identity column, allocated at insert and not at commit, so two receivers
may commit jobs of one key out of id order; a claim therefore treats a ``doing`` job of the key
as blocking whatever its id (the SQLite backend, with one writer at a time, needs only the
earlier ones).
"""

from __future__ import annotations

import logging
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from fieldline.queue.jobs import DeadLetter, EnqueueGroup, EnqueueResult, Job, JobState, QueueStatus
from fieldline.queue.postgres_client import PostgresClient
from fieldline.queue.postgres_db import PostgresDatabase
from fieldline.queue.sql_queue import SQLJobQueueBase
from fieldline.queue.sql_rows import (
    EVENT_COLUMNS,
    LEASE_LOST,
    dead_letter_from_row,
    enqueue_group,
    ids_by_token,
    jobs_from_claim,
    queue_status,
    trim_failures_below,
)

logger = logging.getLogger("fieldline.queue")

# Enqueues notify it at commit; idle workers LISTEN (:meth:`PostgresJobQueue.wake_on_enqueue`).
NOTIFY_CHANNEL = "fieldline_jobs"

if TYPE_CHECKING:
    import psycopg

__all__ = ["PostgresJobQueue"]

_CLAIM_LOCK = "SELECT pg_advisory_xact_lock(hashtext('fieldline_claim:' || current_schema()))"

_CLAIM = """
UPDATE fieldline_jobs AS t
SET status = 'doing', attempts = t.attempts + 1, lease_token = %(token)s, lease_until = %(until)s,
    worker_id = %(worker)s
FROM (
    SELECT j.id FROM fieldline_jobs AS j
    WHERE j.status = 'todo' AND j.run_after <= %(now)s
      AND (%(source)s::text IS NULL OR j.source = %(source)s::text)
      AND NOT EXISTS (
          SELECT 1 FROM fieldline_jobs AS held
          WHERE held.status = 'doing' AND held.source = j.source AND held.lock_key = j.lock_key
          OFFSET 0
      )
      AND NOT EXISTS (
          SELECT 1 FROM fieldline_jobs AS waiting
          WHERE waiting.status = 'todo' AND waiting.source = j.source AND waiting.lock_key = j.lock_key
            AND waiting.id < j.id AND waiting.run_after > %(now)s
          OFFSET 0
      )
    ORDER BY j.id
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
) AS picked
WHERE t.id = picked.id
RETURNING t.id, t.source, t.event_id, t.event_type, t.lock_key, t.payload, t.occurred_at,
    t.ordering_keys, t.role, t.attempts, t.enqueued_at
"""

_INSERT = (
    "INSERT INTO fieldline_jobs (source, event_id, event_type, lock_key, payload, occurred_at, status,"
    " run_after, enqueued_at, finished_at, ordering_keys, role)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
    " ON CONFLICT (source, event_id) DO NOTHING RETURNING id"
)


class PostgresJobQueue(SQLJobQueueBase, PostgresClient):
    """:class:`~fieldline.queue.JobQueue` on PostgreSQL, safe for any number of processes."""

    def __init__(
        self,
        database: PostgresDatabase,
        *,
        max_attempts: int = 5,
        backoff_base: float = 1.0,
        backoff_max: float = 300.0,
        recover_interval: float = 1.0,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> None:
        self._init_retries(
            max_attempts=max_attempts,
            backoff_base=backoff_base,
            backoff_max=backoff_max,
            recover_interval=recover_interval,
            clock=clock,
            rng=rng,
        )
        PostgresClient.__init__(self, database)  # acquired only once the settings are valid

    # --- producing ------------------------------------------------------------------------

    def enqueue_groups(self, groups: Sequence[EnqueueGroup]) -> list[EnqueueResult]:
        """Store several requests' events in one transaction (group commit), one result each."""
        now = self.clock()
        with self.database.transaction("enqueue") as connection:

            def insert(parameters: tuple[Any, ...]) -> Sequence[Any] | None:
                return connection.execute(_INSERT, parameters).fetchone()

            results = [enqueue_group(group, now, insert) for group in groups]
            if any(result.queued for result in results):
                connection.execute(f"NOTIFY {NOTIFY_CHANNEL}")  # delivered when this commits
        return results

    # --- consuming ------------------------------------------------------------------------

    def claim(
        self, worker_id: str, *, limit: int = 100, lease_seconds: float = 60.0, source: str | None = None
    ) -> list[Job]:
        """Lease up to ``limit`` runnable jobs in id order, keeping per-key order."""
        if limit < 1:
            return []
        now = self.clock()
        token = uuid.uuid4().hex
        until = now + lease_seconds
        with self.database.transaction("claim") as connection:
            connection.execute(_CLAIM_LOCK)
            if now - self._last_recovery >= self.recover_interval:
                self._recover(connection, now)
                self._last_recovery = now
            rows = connection.execute(
                _CLAIM,
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
        with self.database.transaction("complete") as connection:
            for token, ids in by_token.items():
                rows = connection.execute(
                    "UPDATE fieldline_jobs SET status = 'done', finished_at = %s, note = %s,"
                    " lease_token = NULL, lease_until = NULL"
                    " WHERE status = 'doing' AND lease_token = %s AND id = ANY(%s) RETURNING id",
                    (now, note, token, ids),
                ).fetchall()
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
        state, delay = self._after_failure(job, retry_after, permanent)
        dead = state is JobState.DEAD
        with self.database.transaction("failure record") as connection:
            row = connection.execute(
                "UPDATE fieldline_jobs SET status = %s, run_after = %s, last_error = %s,"
                " finished_at = %s, lease_token = NULL, lease_until = NULL, worker_id = NULL"
                " WHERE id = %s AND status = 'doing' AND lease_token = %s RETURNING id",
                (state.value, now + delay, error, now if dead else None, job.id, job.lease_token),
            ).fetchone()
            if row is None:
                return None
            self._record_failures(
                connection, [(job.source, job.id, job.event_id, job.lock_key, error, job.attempts, now, dead)]
            )
        return state

    def release(self, jobs: Iterable[Job], *, delay: float = 0.0) -> list[int]:
        """Return leased jobs to ``todo`` without counting the attempt."""
        now = self.clock()
        released: list[int] = []
        with self.database.transaction("release") as connection:
            for job in jobs:
                row = connection.execute(
                    "UPDATE fieldline_jobs SET status = 'todo', attempts = GREATEST(0, attempts - 1),"
                    " run_after = %s, lease_token = NULL, lease_until = NULL, worker_id = NULL"
                    " WHERE id = %s AND status = 'doing' AND lease_token = %s RETURNING id",
                    (now + delay, job.id, job.lease_token),
                ).fetchone()
                if row is not None:
                    released.append(int(row[0]))
        return released

    def extend(self, job: Job, lease_seconds: float) -> Job | None:
        """Push the lease deadline ``lease_seconds`` from now; ``None`` when the lease was lost."""
        until = self.clock() + lease_seconds
        with self.database.transaction("lease extension") as connection:
            row = connection.execute(
                "UPDATE fieldline_jobs SET lease_until = %s"
                " WHERE id = %s AND status = 'doing' AND lease_token = %s RETURNING id",
                (until, job.id, job.lease_token),
            ).fetchone()
        if row is None:
            return None
        return replace(job, lease_until=until)

    def recover_expired(self) -> int:
        """Take back expired leases: to ``todo``, or dead when out of attempts."""
        now = self.clock()
        with self.database.transaction("lease recovery") as connection:
            recovered = self._recover(connection, now)
        self._last_recovery = now
        return recovered

    def _recover(self, connection: psycopg.Connection[tuple[Any, ...]], now: float) -> int:
        rows = connection.execute(
            "UPDATE fieldline_jobs SET"
            " status = CASE WHEN attempts >= %(max)s THEN 'dead' ELSE 'todo' END,"
            " finished_at = CASE WHEN attempts >= %(max)s THEN %(now)s ELSE NULL END,"
            " run_after = %(now)s, last_error = %(error)s,"
            " lease_token = NULL, lease_until = NULL, worker_id = NULL"
            " WHERE status = 'doing' AND lease_until < %(now)s"
            " RETURNING source, id, event_id, lock_key, attempts, status",
            {"max": self.max_attempts, "now": now, "error": LEASE_LOST},
        ).fetchall()
        self._record_failures(
            connection,
            [
                (source, int(job_id), event_id, lock_key, LEASE_LOST, int(attempts), now, status == "dead")
                for source, job_id, event_id, lock_key, attempts, status in rows
            ],
        )
        return len(rows)

    def _record_failures(
        self,
        connection: psycopg.Connection[tuple[Any, ...]],
        failures: Sequence[tuple[str, int, str, str, str, int, float, bool]],
    ) -> None:
        newest = 0
        for failure in failures:
            row = connection.execute(
                "INSERT INTO fieldline_failures (source, job_id, event_id, lock_key, error, attempts,"
                " failed_at, dead) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
                failure,
            ).fetchone()
            newest = int(row[0]) if row else newest
            below = trim_failures_below(newest)
            if below is not None:
                connection.execute("DELETE FROM fieldline_failures WHERE id <= %s", (below,))

    # --- inspecting -----------------------------------------------------------------------

    def status(self, *, stalled_after: float = 300.0, source: str | None = None) -> QueueStatus:
        """A snapshot: counts by state, oldest waiting age, last processed, recent failures."""
        now = self.clock()
        of_source, parameters = ("AND source = %s", (source,)) if source is not None else ("", ())
        with self.database.transaction("status") as connection:
            counts: dict[JobState, int] = {}
            for state in JobState:
                # The state is a literal, not a parameter, so the planner can match the partial index.
                row = connection.execute(
                    f"SELECT count(*) FROM fieldline_jobs WHERE status = '{state.value}' {of_source}",
                    parameters,
                ).fetchone()
                if row and row[0]:
                    counts[state] = int(row[0])
            oldest_row = connection.execute(
                f"SELECT min(enqueued_at) FROM fieldline_jobs WHERE status IN ('todo', 'doing') {of_source}",
                parameters,
            ).fetchone()
            last_row = connection.execute(
                f"SELECT max(finished_at) FROM fieldline_jobs WHERE status = 'done' {of_source}",
                parameters,
            ).fetchone()
            failure_rows = connection.execute(
                "SELECT job_id, event_id, lock_key, error, attempts, failed_at, dead"
                f" FROM fieldline_failures WHERE true {of_source} ORDER BY id DESC LIMIT 10",
                parameters,
            ).fetchall()
        return queue_status(
            now=now,
            stalled_after=stalled_after,
            counts=counts,
            oldest_enqueued=oldest_row[0] if oldest_row else None,
            last_processed=last_row[0] if last_row else None,
            failure_rows=failure_rows,
        )

    def sources(self) -> list[str]:
        """Every source with jobs in the queue (a loose index scan of the (source, status) index)."""
        rows = self.database.read(
            "sources",
            "WITH RECURSIVE s AS ("
            " (SELECT source FROM fieldline_jobs ORDER BY source LIMIT 1)"
            " UNION ALL"
            " SELECT (SELECT source FROM fieldline_jobs WHERE source > s.source ORDER BY source LIMIT 1)"
            " FROM s WHERE s.source IS NOT NULL)"
            " SELECT source FROM s WHERE source IS NOT NULL",
        )
        return [row[0] for row in rows]

    def dead_letters(self, limit: int = 100, *, source: str | None = None) -> list[DeadLetter]:
        """The newest dead letters first."""
        of_source, parameters = ("AND source = %s", (source,)) if source is not None else ("", ())
        rows = self.database.read(
            "dead letters",
            f"SELECT id, {EVENT_COLUMNS}, attempts, last_error, finished_at FROM fieldline_jobs"
            f" WHERE status = 'dead' {of_source} ORDER BY finished_at DESC, id DESC LIMIT %s",
            (*parameters, limit),
        )
        return [dead_letter_from_row(row) for row in rows]

    def requeue(self, job_ids: Iterable[int] | None = None, *, reset_attempts: bool = True) -> int:
        """Dead letters back to ``todo`` (all of them when ``job_ids`` is ``None``)."""
        now = self.clock()
        attempts = "0" if reset_attempts else "attempts"
        sql = (
            f"UPDATE fieldline_jobs SET status = 'todo', attempts = {attempts}, run_after = %s,"
            " finished_at = NULL WHERE status = 'dead'"
        )
        with self.database.transaction("requeue") as connection:
            if job_ids is None:
                cursor = connection.execute(sql, (now,))
            else:
                cursor = connection.execute((sql + " AND id = ANY(%s)"), (now, list(job_ids)))
            return cursor.rowcount

    def purge(self, settled_before: float) -> int:
        """Delete ``done`` and ``ignored`` jobs settled before ``settled_before`` (epoch seconds).

        Dead letters and live jobs stay. A purged event id is forgotten by dedupe.
        """
        deleted = 0
        with self.database.transaction("purge") as connection:
            for state in (JobState.DONE, JobState.IGNORED):
                cursor = connection.execute(
                    f"DELETE FROM fieldline_jobs WHERE status = '{state.value}' AND finished_at < %s",
                    (settled_before,),
                )
                deleted += cursor.rowcount
        return deleted

    def state_of(self, job_id: int) -> JobState | None:
        """One job's state (for tests and ``replay``); ``None`` if unknown."""
        rows = self.database.read("job state", "SELECT status FROM fieldline_jobs WHERE id = %s", (job_id,))
        return JobState(rows[0][0]) if rows else None

    def check_writable(self) -> None:
        """Commit one row of ``fieldline_write_probe``: fails as an enqueue would (the server
        down or read-only, the disk full)."""
        with self.database.transaction("write probe") as connection:
            connection.execute(
                "INSERT INTO fieldline_write_probe (id, at) VALUES (1, %s)"
                " ON CONFLICT (id) DO UPDATE SET at = excluded.at",
                (self.clock(),),
            )

    def wake_on_enqueue(self, wake: threading.Event) -> Callable[[], None]:
        """``LISTEN`` on a connection of its own and set ``wake`` on each notification that an
        enqueue (any receiver's) sends at commit; reconnects by itself after the server restarts."""
        stop = threading.Event()
        listener = threading.Thread(
            target=self._listen, args=(wake, stop), name="fieldline-postgres-listen", daemon=True
        )
        listener.start()

        def stop_listening() -> None:
            stop.set()
            listener.join(timeout=5)

        return stop_listening

    def _listen(self, wake: threading.Event, stop: threading.Event) -> None:
        import psycopg

        while not stop.is_set():
            try:
                with psycopg.connect(
                    self.database.conninfo, autocommit=True, connect_timeout=5
                ) as connection:
                    connection.execute(f"LISTEN {NOTIFY_CHANNEL}")
                    wake.set()  # whatever was committed while nobody listened
                    while not stop.is_set():
                        for _ in connection.notifies(timeout=1.0):
                            wake.set()
            except Exception as exc:  # the server went away: workers poll meanwhile, then resume
                logger.warning("%s: not listening for new jobs (%s); retrying", self.database.where, exc)
                stop.wait(1.0)

    def note_of(self, job_id: int) -> str | None:
        """The note a job was completed with (``stale``, ...)."""
        rows = self.database.read("job note", "SELECT note FROM fieldline_jobs WHERE id = %s", (job_id,))
        return rows[0][0] if rows else None
