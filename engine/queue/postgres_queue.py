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
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from fieldline.queue.jobs import EnqueueGroup, EnqueueResult, JobState, QueueStatus
from fieldline.queue.postgres_client import PostgresClient
from fieldline.queue.postgres_db import PostgresDatabase
from fieldline.queue.sql_queue import Failure, SQLJobQueueBase
from fieldline.queue.sql_rows import enqueue_group, queue_status

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
    t.ordering_keys, t.role, t.tenant, t.attempts, t.enqueued_at
"""

_INSERT = (
    "INSERT INTO fieldline_jobs (source, event_id, event_type, lock_key, payload, occurred_at, status,"
    " run_after, enqueued_at, finished_at, ordering_keys, role, tenant)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
    " ON CONFLICT (source, event_id) DO NOTHING RETURNING id"
)


class PostgresJobQueue(SQLJobQueueBase, PostgresClient):
    """:class:`~fieldline.queue.JobQueue` on PostgreSQL, safe for any number of processes."""

    PLACEHOLDER = "%s"
    CLAIM = _CLAIM
    COMPLETE = (
        "UPDATE fieldline_jobs SET status = 'done', finished_at = %s, note = %s,"
        " lease_token = NULL, lease_until = NULL"
        " WHERE status = 'doing' AND lease_token = %s AND id = ANY(%s) RETURNING id"
    )
    FAIL = (
        "UPDATE fieldline_jobs SET status = %s, run_after = %s, last_error = %s,"
        " finished_at = %s, lease_token = NULL, lease_until = NULL, worker_id = NULL"
        " WHERE id = %s AND status = 'doing' AND lease_token = %s RETURNING id"
    )
    RELEASE = (
        "UPDATE fieldline_jobs SET status = 'todo', attempts = GREATEST(0, attempts - 1),"
        " run_after = %s, lease_token = NULL, lease_until = NULL, worker_id = NULL"
        " WHERE id = %s AND status = 'doing' AND lease_token = %s RETURNING id"
    )
    EXTEND = (
        "UPDATE fieldline_jobs SET lease_until = %s"
        " WHERE id = %s AND status = 'doing' AND lease_token = %s RETURNING id"
    )
    RECOVER = (
        "UPDATE fieldline_jobs SET"
        " status = CASE WHEN attempts >= %(max)s THEN 'dead' ELSE 'todo' END,"
        " finished_at = CASE WHEN attempts >= %(max)s THEN %(now)s ELSE NULL END,"
        " run_after = %(now)s, last_error = %(error)s,"
        " lease_token = NULL, lease_until = NULL, worker_id = NULL"
        " WHERE status = 'doing' AND lease_until < %(now)s"
        " RETURNING source, id, event_id, lock_key, attempts, status"
    )
    RECOVER_COLUMNS = ("source", "id", "event_id", "lock_key", "attempts", "status")
    TRIM_FAILURES = "DELETE FROM fieldline_failures WHERE id <= %s"
    REQUEUE = (
        "UPDATE fieldline_jobs SET status = 'todo', attempts = {attempts}, run_after = %s,"
        " finished_at = NULL WHERE status = 'dead'"
    )
    REQUEUE_IDS = " AND id = ANY(%s)"
    PURGE = "DELETE FROM fieldline_jobs WHERE status = '{state}' AND finished_at < %s"
    WRITE_PROBE = (
        "INSERT INTO fieldline_write_probe (id, at) VALUES (1, %s)"
        " ON CONFLICT (id) DO UPDATE SET at = excluded.at"
    )

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

    # --- the backend's part of :class:`SQLJobQueueBase` ------------------------------------

    def _writing(self, what: str) -> AbstractContextManager[psycopg.Connection[tuple[Any, ...]]]:
        return self.database.transaction(what)

    def _reading(self, what: str, sql: str, parameters: Sequence[Any] = ()) -> list[Any]:
        return self.database.read(what, sql, parameters)

    def _id_list(self, ids: list[int]) -> list[int]:
        return ids

    def _insert_failure(self, connection: psycopg.Connection[tuple[Any, ...]], failure: Failure) -> int:
        row = connection.execute(
            "INSERT INTO fieldline_failures (source, job_id, event_id, lock_key, error, attempts,"
            " failed_at, dead) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
            failure,
        ).fetchone()
        return int(row[0]) if row else 0

    def _before_claim(self, connection: psycopg.Connection[tuple[Any, ...]]) -> None:
        connection.execute(_CLAIM_LOCK)  # claims of all processes one after the other

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
