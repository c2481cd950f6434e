"""Workers: claim a batch of jobs, fetch each profile once, sync the batch, settle every job.

One batch covers many profiles (entity keys). For each distinct key the source is asked for the
current state once (the webhook is only a trigger); the document's version is the newest
``occurred_at`` among its claimed events. One ``runner.sync`` plans and writes the whole batch
(a few target API calls), then each job is settled from its profile's outcomes:

- every record written or unchanged -> complete (and the profile's applied version moves on);
- an event older than the newest applied one for its profile -> complete as ``stale``, no write;
- a retriable failure (record or transport, e.g. ``TransientAdapterError``) -> retry with backoff,
  honouring Retry-After;
- a non-retriable record failure or ``FatalAdapterError`` -> dead letter with the error kept;
- ``BudgetExhaustedError`` or a ``ConfigError`` (e.g. missing credentials: not the events' fault)
  -> the jobs go back untouched and the worker pauses; so do the jobs of profiles not fully
  written when the run's report says it ``stopped`` (budget, daily limit).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol

from fieldline.contracts import SourceAdapter, SourceDocument, Stop
from fieldline.errors import (
    BudgetExhaustedError,
    ConfigError,
    FatalAdapterError,
    FieldlineError,
    TransientAdapterError,
)
from fieldline.queue import Job, JobQueue
from fieldline.queue.run_store import RunLogEntry, RunStore
from fieldline.sync.runner import RecordOutcome, RunReport

__all__ = ["BatchResult", "SyncRunner", "Worker", "WorkerSettings"]

logger = logging.getLogger("fieldline.worker")


# Failures that are nobody's event's fault: put the jobs back untouched and wait.
_PAUSING = (BudgetExhaustedError, ConfigError)


class Closeable(Protocol):
    def close(self) -> None: ...


class SyncRunner(Protocol):
    """What a worker needs from :class:`fieldline.sync.runner.Runner`."""

    def sync(self, documents: Iterable[SourceDocument]) -> RunReport: ...


@dataclass(frozen=True, slots=True)
class WorkerSettings:
    """How a worker claims and paces itself."""

    batch_size: int = 100  # jobs per claim (many profiles -> one runner.sync)
    lease_seconds: float = 120.0  # must exceed the slowest batch; expired leases are taken back
    poll_interval: float = 0.25  # idle wait between claims when nothing woke the worker
    budget_pause: float = 60.0  # after BudgetExhaustedError/ConfigError, jobs go back, the worker sleeps
    fetch_concurrency: int = 8  # profiles fetched in parallel per batch


@dataclass(slots=True)
class BatchResult:
    """What one batch did, by job count."""

    completed: int = 0
    stale: int = 0
    gone: int = 0
    retried: int = 0
    dead: int = 0
    released: int = 0
    lost: int = 0  # settle refused: the lease had expired and was taken back
    paused: bool = False
    errors: list[str] = field(default_factory=list)

    @property
    def handled(self) -> int:
        return self.completed + self.stale + self.gone + self.retried + self.dead + self.released


class Worker:
    """Applies queued events through one source and one runner (not shared across threads)."""

    def __init__(
        self,
        queue: JobQueue,
        store: RunStore,
        source: SourceAdapter,
        runner: SyncRunner,
        *,
        worker_id: str,
        settings: WorkerSettings | None = None,
        resources: Sequence[Closeable] = (),
    ) -> None:
        self.queue = queue
        self.store = store
        self.source = source
        self.runner = runner
        self.worker_id = worker_id
        self.settings = settings or WorkerSettings()
        self.resources = tuple(resources)

    # --- loop -----------------------------------------------------------------------------

    def close(self) -> None:
        """Close the adapters this worker owns."""
        for resource in self.resources:
            try:
                resource.close()
            except Exception as exc:  # closing must not hide why the worker stopped
                logger.warning("worker %s: closing %r failed: %s", self.worker_id, resource, exc)

    def run(self, stop: threading.Event, *, wake: threading.Event | None = None) -> None:
        """Claim and process batches until ``stop`` is set; the batch in hand is finished first.
        The worker's adapters are closed when it stops."""
        try:
            self._loop(stop, wake)
        finally:
            self.close()

    def _loop(self, stop: threading.Event, wake: threading.Event | None) -> None:
        while not stop.is_set():
            try:
                result = self.run_once()
            except Exception as exc:
                # The queue or run log failed (disk full, locked too long) or a bug: say so and try
                # again shortly; jobs in hand return to the queue when their lease expires.
                logger.error("worker %s: %s", self.worker_id, _describe(exc))
                stop.wait(self.settings.poll_interval * 4)
                continue
            if result.paused:
                stop.wait(self.settings.budget_pause)
            elif result.handled == 0:
                if wake is not None:
                    wake.wait(self.settings.poll_interval)
                    wake.clear()
                else:
                    stop.wait(self.settings.poll_interval)

    def run_once(self) -> BatchResult:
        """Claim one batch and process it."""
        jobs = self.queue.claim(
            self.worker_id, limit=self.settings.batch_size, lease_seconds=self.settings.lease_seconds
        )
        if not jobs:
            return BatchResult()
        with _LeaseKeeper(self.queue, jobs, self.settings.lease_seconds):
            return self.process(jobs)

    # --- one batch ------------------------------------------------------------------------

    def process(self, jobs: Sequence[Job]) -> BatchResult:
        """Settle every job of a claimed batch (see the module docstring for the rules)."""
        result = BatchResult()
        log: list[RunLogEntry] = []
        by_key: dict[str, list[Job]] = {}
        for job in jobs:
            by_key.setdefault(job.lock_key, []).append(job)

        applied = self.store.applied_versions(by_key)
        fresh: dict[str, list[Job]] = {}
        stale: list[Job] = []
        for key, key_jobs in by_key.items():
            newest_applied = applied.get(key)
            for job in key_jobs:
                if newest_applied is not None and job.occurred_at < newest_applied:
                    stale.append(job)
                else:
                    fresh.setdefault(key, []).append(job)
        if stale:
            result.stale += len(self.queue.complete(stale, note="stale"))
            log.extend(_job_entry(job, "stale", note="older than the newest applied event") for job in stale)

        documents: list[SourceDocument] = []
        completed: list[Job] = []
        try:
            fetched = self._fetch_all(list(fresh))
        except _PAUSING as exc:
            self._pause(fresh, exc, result, log)
            self.store.record(log)
            return result
        for key, outcome in fetched.items():
            key_jobs = fresh[key]
            if isinstance(outcome, BaseException):
                self._fail(key_jobs, outcome, result, log)
            elif outcome is None:
                result.gone += len(self.queue.complete(key_jobs, note="gone"))
                log.extend(_job_entry(job, "gone", note="the source no longer has it") for job in key_jobs)
            else:
                version = max(job.occurred_at for job in key_jobs)
                documents.append(SourceDocument(key=key, data=outcome.data, version=version))

        if documents:
            try:
                report = self.runner.sync(documents)
            except _PAUSING as exc:
                self._pause({document.key: fresh[document.key] for document in documents}, exc, result, log)
                self.store.record(log)
                return result
            except Exception as exc:  # a transport failure or a bug: no job of the batch is lost
                for document in documents:
                    self._fail(fresh[document.key], exc, result, log)
            else:
                if report.stopped is not None:
                    # budget or daily limit: settle the profiles fully written, put the rest back
                    finished = report.finished_documents()
                    unfinished = [document for document in documents if document.key not in finished]
                    documents = [document for document in documents if document.key in finished]
                    self._pause(
                        {document.key: fresh[document.key] for document in unfinished},
                        report.stopped,
                        result,
                        log,
                    )
                completed = self._settle(report, documents, fresh, result, log)
        applied, applications = _applied_state(completed)
        self.store.record(log, applied=applied, applications=applications)
        return result

    def _fetch_all(self, keys: Sequence[str]) -> dict[str, SourceDocument | BaseException | None]:
        """Each profile fetched once; per-key errors are returned, budget exhaustion raised."""

        def fetch(key: str) -> SourceDocument | BaseException | None:
            try:
                return self.source.fetch(key)
            except _PAUSING:
                raise
            except Exception as exc:  # settled per key by the caller
                return exc

        if len(keys) <= 1 or self.settings.fetch_concurrency <= 1:
            return {key: fetch(key) for key in keys}
        with ThreadPoolExecutor(max_workers=min(self.settings.fetch_concurrency, len(keys))) as pool:
            return dict(zip(keys, pool.map(fetch, keys), strict=True))

    def _settle(
        self,
        report: RunReport,
        documents: Sequence[SourceDocument],
        fresh: Mapping[str, list[Job]],
        result: BatchResult,
        log: list[RunLogEntry],
    ) -> list[Job]:
        """Settle each profile's jobs from its outcomes; returns the jobs completed."""
        outcomes: dict[str, list[RecordOutcome]] = {}
        for outcome in report.outcomes:
            outcomes.setdefault(outcome.document_key, []).append(outcome)
        completed: list[Job] = []
        for document in documents:
            key_jobs = fresh[document.key]
            key_outcomes = outcomes.get(document.key, [])
            event_ids = tuple(job.event_id for job in key_jobs)
            job_ids = tuple(job.id for job in key_jobs)
            log.extend(_outcome_entry(outcome, event_ids, job_ids) for outcome in key_outcomes)
            fatal = [outcome for outcome in key_outcomes if outcome.error and not outcome.retriable]
            retriable = [outcome for outcome in key_outcomes if outcome.error and outcome.retriable]
            if fatal:
                message = "; ".join(f"{outcome.record} {outcome.key}: {outcome.error}" for outcome in fatal)
                self._settle_failed(key_jobs, message, permanent=True, retry_after=None, result=result)
            elif retriable:
                message = "; ".join(
                    f"{outcome.record} {outcome.key}: {outcome.error}" for outcome in retriable
                )
                self._settle_failed(key_jobs, message, permanent=False, retry_after=None, result=result)
            else:
                completed.extend(key_jobs)
        if not completed:
            return []
        settled = set(self.queue.complete(completed, note="applied"))
        result.completed += len(settled)
        result.lost += len(completed) - len(settled)
        return [job for job in completed if job.id in settled]

    def _fail(
        self, jobs: Sequence[Job], exc: BaseException, result: BatchResult, log: list[RunLogEntry]
    ) -> None:
        message = _describe(exc)
        permanent = isinstance(exc, FatalAdapterError)
        retry_after = exc.retry_after if isinstance(exc, TransientAdapterError) else None
        if not isinstance(exc, FieldlineError):
            logger.error("worker %s: unexpected %s: %s", self.worker_id, type(exc).__name__, exc)
        states = self._settle_failed(
            jobs, message, permanent=permanent, retry_after=retry_after, result=result
        )
        log.extend(
            _job_entry(job, "dead" if state == "dead" else "retry", error=message)
            for job, state in zip(jobs, states, strict=True)
        )

    def _settle_failed(
        self,
        jobs: Sequence[Job],
        message: str,
        *,
        permanent: bool,
        retry_after: float | None,
        result: BatchResult,
    ) -> list[str]:
        states: list[str] = []
        for job in jobs:
            state = self.queue.fail(job, message, retry_after=retry_after, permanent=permanent)
            if state is None:
                result.lost += 1
                states.append("lost")
            elif state == "dead":
                result.dead += 1
                states.append("dead")
                logger.error(
                    "job %d (event %s, profile %s) is a dead letter after %d attempts: %s;"
                    " fix the cause, then `fieldline replay`",
                    job.id,
                    job.event_id,
                    job.lock_key,
                    job.attempts,
                    message,
                )
            else:
                result.retried += 1
                states.append("retry")
            result.errors.append(message)
        return states

    def _pause(
        self,
        jobs: Mapping[str, list[Job]],
        cause: FieldlineError | Stop,
        result: BatchResult,
        log: list[RunLogEntry],
    ) -> None:
        every = [job for key_jobs in jobs.values() for job in key_jobs]
        result.released += len(self.queue.release(every, delay=self.settings.budget_pause))
        result.paused = True
        message = (
            _describe(cause) if isinstance(cause, FieldlineError) else f"stopped ({cause.reason}): {cause}"
        )
        result.errors.append(message)
        logger.warning("worker %s: pausing %.0f s: %s", self.worker_id, self.settings.budget_pause, message)
        log.extend(_job_entry(job, "paused", error=message) for job in every)


class _LeaseKeeper:
    """Extends the leases of a batch every third of the lease while it is being processed, so
    a slow target (retries inside the adapter) never lets another worker take the jobs."""

    def __init__(self, queue: JobQueue, jobs: Sequence[Job], lease_seconds: float) -> None:
        self.queue = queue
        self.jobs = list(jobs)
        self.lease_seconds = lease_seconds
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fieldline-lease-keeper", daemon=True)

    def __enter__(self) -> _LeaseKeeper:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._done.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._done.wait(self.lease_seconds / 3):
            for job in self.jobs:
                if self._done.is_set():
                    return
                try:
                    self.queue.extend(job, self.lease_seconds)
                except Exception as exc:  # the settle step will notice a lost lease
                    logger.warning("could not extend the lease of job %d: %s", job.id, _describe(exc))


def _applied_state(jobs: Sequence[Job]) -> tuple[dict[str, float], dict[str, tuple[str, float]]]:
    """The newest applied event time per profile and per application (``data.application_id``)."""
    applied: dict[str, float] = {}
    applications: dict[str, tuple[str, float]] = {}
    for job in jobs:
        applied[job.lock_key] = max(applied.get(job.lock_key, job.occurred_at), job.occurred_at)
        application = job.payload.get("application_id")
        if isinstance(application, str) and application:
            previous = applications.get(application, (job.lock_key, job.occurred_at))[1]
            applications[application] = (job.lock_key, max(previous, job.occurred_at))
    return applied, applications


def _describe(exc: BaseException) -> str:
    if isinstance(exc, FieldlineError):
        return f"{type(exc).__name__}: {exc}"
    return f"unexpected {type(exc).__name__}: {exc}"


def _job_entry(job: Job, action: str, *, error: str | None = None, note: str | None = None) -> RunLogEntry:
    return RunLogEntry(
        profile_key=job.lock_key,
        action=action,
        event_ids=(job.event_id,),
        job_ids=(job.id,),
        error=error or note,
    )


def _outcome_entry(
    outcome: RecordOutcome, event_ids: tuple[str, ...], job_ids: tuple[int, ...]
) -> RunLogEntry:
    return RunLogEntry(
        profile_key=outcome.document_key,
        action=outcome.action.value if outcome.ok else "error",
        event_ids=event_ids,
        job_ids=job_ids,
        record=outcome.record,
        key=outcome.key,
        object=outcome.object,
        target_id=outcome.target_id,
        written=dict(outcome.written),
        error=outcome.error,
    )
