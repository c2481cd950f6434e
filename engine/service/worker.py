"""Workers: claim a batch of one source's jobs, get each entity's document, sync, settle.

One batch covers many entities (a PassFort profile, an app user's lead). For each distinct
entity the worker needs one document: a *trigger* event makes it fetch the entity's current
state once (the webhook only says something changed); a *document* event carries it. The
document's version is the newest ``occurred_at`` among its claimed events. One ``runner.sync``
plans and writes the whole batch (a few target API calls), then each job is settled from its
entity's outcomes:

- every record written or unchanged -> complete (and the applied version of each of the job's
  ordering keys moves on);
- an event older than the newest applied one for any of its ordering keys -> complete as
  ``stale``, no write;
- a retriable failure (record or transport, e.g. ``TransientAdapterError``) -> retry with backoff,
  honouring Retry-After;
- a non-retriable record failure or ``FatalAdapterError`` -> dead letter with the error kept;
- the target writes done but the write-back into the source failed -> retry (or dead letter) with
  the note ``write-back pending``: the retry plans the target records again (found, unchanged:
  nothing written) and writes back only what is still missing;
- an event that reports only our own write-back (the source's ``is_write_back_echo``) ->
  complete as ``own write-back``, without a fetch or a sync;
- ``BudgetExhaustedError`` or a ``ConfigError`` (e.g. missing credentials: not the events' fault)
  -> the jobs go back untouched and the worker pauses; so do the jobs of entities not fully
  written when the run's report says it ``stopped`` (budget, daily limit).

Document events of one entity are applied one after another, oldest first (each may carry only
part of the entity): the n-th document of every entity in the batch goes into the n-th
``runner.sync``. A trigger makes the fetched state stand for all of that entity's events.

Events with a tenant (an app user: :attr:`~fieldline.contracts.SourceEvent.tenant`) are written
through that tenant's own runner and target connection (``tenant_runners``, built on first use
and kept): a batch is split by tenant and each part processed as above. A tenant whose part
pauses (its org's daily limit, an expired refresh token) has its jobs put back for a while; the
worker itself pauses only when every tenant of the batch did, so one tenant's failing org never
holds up the others.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import KW_ONLY, dataclass, field
from typing import Protocol

from fieldline.contracts import (
    EventRole,
    SourceAdapter,
    SourceDocument,
    Stop,
    WriteBackResult,
)
from fieldline.errors import (
    BudgetExhaustedError,
    ConfigError,
    FatalAdapterError,
    FieldlineError,
    TransientAdapterError,
)
from fieldline.queue.jobs import Job, JobQueue
from fieldline.queue.run_store import RunLogEntry, RunStore
from fieldline.sync.connector_log import BatchRuns, RunRecorder
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

    batch_size: int = 100  # jobs per claim (many entities -> one runner.sync)
    lease_seconds: float = 120.0  # must exceed the slowest batch; expired leases are taken back
    poll_interval: float = 0.25  # idle wait between claims when nothing woke the worker
    budget_pause: float = 60.0  # after BudgetExhaustedError/ConfigError, jobs go back, the worker sleeps
    fetch_concurrency: int = 8  # entities fetched in parallel per batch


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

    def add(self, other: BatchResult) -> None:
        """Count ``other`` (one tenant's part of the batch) into this result; ``paused`` is
        left to the caller."""
        for name in ("completed", "stale", "gone", "retried", "dead", "released", "lost"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.errors.extend(other.errors)


@dataclass(eq=False)
class Worker:
    """Applies one source's queued events through one runner (not shared across threads).

    ``source_name`` is the queue's name for the source (its jobs, its ordering-key versions);
    ``None`` claims every source's jobs. ``resources`` are the adapters it closes when it stops.
    ``tenant_runners`` builds the runner of one tenant's target connection (jobs whose tenant
    is ``""`` use ``runner``); each is built once and closed with the worker.
    """

    queue: JobQueue
    store: RunStore
    source: SourceAdapter
    runner: SyncRunner
    _: KW_ONLY
    worker_id: str
    source_name: str | None = None
    settings: WorkerSettings = field(default_factory=WorkerSettings)
    resources: Sequence[Closeable] = ()
    write_back_paths: frozenset[str] = frozenset()  # the spec's; their echoes need no sync
    tenant_runners: Callable[[str], tuple[SyncRunner, Closeable]] | None = None
    batch_runs: BatchRuns | None = None  # each sync of a batch recorded in the connector logs
    _tenants: dict[str, tuple[SyncRunner, Closeable]] = field(default_factory=dict, init=False, repr=False)

    # --- loop -----------------------------------------------------------------------------

    def close(self) -> None:
        """Close the adapters this worker owns."""
        tenant_resources = [resource for _, resource in self._tenants.values()]
        self._tenants.clear()
        for resource in [*self.resources, *tenant_resources]:
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
            self.worker_id,
            limit=self.settings.batch_size,
            lease_seconds=self.settings.lease_seconds,
            source=self.source_name,
        )
        if not jobs:
            return BatchResult()
        with _LeaseKeeper(self.queue, jobs, self.settings.lease_seconds):
            return self.process(jobs)

    # --- one batch ------------------------------------------------------------------------

    def process(self, jobs: Sequence[Job]) -> BatchResult:
        """Settle every job of a claimed batch (see the module docstring for the rules)."""
        by_tenant: dict[str, list[Job]] = {}
        for job in jobs:
            by_tenant.setdefault(job.tenant, []).append(job)
        if set(by_tenant) <= {""}:
            return self._process(jobs, self.runner)
        result = BatchResult()
        paused = 0
        for tenant, tenant_jobs in by_tenant.items():
            part = self._process_tenant(tenant, tenant_jobs)
            result.add(part)
            paused += part.paused
        result.paused = paused == len(by_tenant)
        return result

    def _process_tenant(self, tenant: str, jobs: Sequence[Job]) -> BatchResult:
        """One tenant's part of a batch, through that tenant's runner (built on first use)."""
        if not tenant:
            return self._process(jobs, self.runner)
        try:
            runner = self._tenant_runner(tenant)
        except _PAUSING as exc:  # e.g. the tenant's secret is not set: its jobs wait, others go on
            result = BatchResult()
            log: list[RunLogEntry] = []
            self._pause({job.lock_key: [job] for job in jobs}, exc, result, log)
            self.store.record(log, source=self.source_name or jobs[0].source)
            return result
        return self._process(jobs, runner)

    def _tenant_runner(self, tenant: str) -> SyncRunner:
        built = self._tenants.get(tenant)
        if built is None:
            if self.tenant_runners is None:
                raise ConfigError(
                    f"an event of tenant {tenant!r} arrived, but this spec has no tenant connections",
                    hint="give the spec `connections:` (see docs/app-events.md)",
                )
            built = self._tenants[tenant] = self.tenant_runners(tenant)
        return built[0]

    def _process(self, jobs: Sequence[Job], runner: SyncRunner) -> BatchResult:
        result = BatchResult()
        log: list[RunLogEntry] = []
        source = self.source_name if self.source_name is not None else (jobs[0].source if jobs else "")
        applied = self.store.applied_versions(source, {key for job in jobs for key in job.version_keys})
        fresh: dict[str, list[Job]] = {}
        stale: list[Job] = []
        for job in jobs:
            if any(job.occurred_at < applied.get(key, job.occurred_at) for key in job.version_keys):
                stale.append(job)
            else:
                fresh.setdefault(job.lock_key, []).append(job)
        if stale:
            result.stale += len(self.queue.complete(stale, note="stale"))
            log.extend(_job_entry(job, "stale", note="older than the newest applied event") for job in stale)
        echoes = self._echoes(fresh)
        if echoes:
            # versions stay: the echo carries nothing the sync that wrote it back did not map
            result.completed += len(self.queue.complete(echoes, note="own write-back"))
            log.extend(
                _job_entry(job, "own_write_back", note="only the value fieldline wrote back changed")
                for job in echoes
            )

        rounds = self._documents(fresh, result, log)
        if rounds is None:  # paused while fetching
            self.store.record(log, source=source)
            return result
        completed: list[Job] = []
        for position, documents in enumerate(rounds):
            done, paused = self._sync(documents, result, log, runner)
            completed.extend(done)
            if paused:  # later documents of these entities must not overtake the released ones
                later = [
                    job
                    for rest in rounds[position + 1 :]
                    for _, key_jobs in rest.values()
                    for job in key_jobs
                ]
                result.released += len(self.queue.release(later, delay=self.settings.budget_pause))
                break
        self.store.record(log, source=source, applied=_applied_versions(completed))
        return result

    def _echoes(self, fresh: dict[str, list[Job]]) -> list[Job]:
        """Take out of ``fresh`` the entities whose every event is the echo of our own
        write-back, and return their jobs."""
        if not self.write_back_paths:
            return []
        source = self.source
        echoes: list[Job] = []
        for key, key_jobs in list(fresh.items()):
            if all(source.is_write_back_echo(job.to_event(), self.write_back_paths) for job in key_jobs):
                echoes.extend(fresh.pop(key))
        return echoes

    def _documents(
        self, fresh: Mapping[str, list[Job]], result: BatchResult, log: list[RunLogEntry]
    ) -> list[dict[str, tuple[SourceDocument, list[Job]]]] | None:
        """The documents to sync, in rounds of at most one per entity: fetched for entities
        with a trigger event, carried by document events otherwise. ``None``: paused."""
        triggered = {key: key_jobs for key, key_jobs in fresh.items() if _is_triggered(key_jobs)}
        try:
            fetched = self._fetch_all(list(triggered))
        except _PAUSING as exc:
            self._pause(fresh, exc, result, log)
            return None
        rounds: list[dict[str, tuple[SourceDocument, list[Job]]]] = [{}]
        for key, outcome in fetched.items():
            key_jobs = triggered[key]
            if isinstance(outcome, BaseException):
                self._fail(key_jobs, outcome, result, log)
            elif outcome is None:
                result.gone += len(self.queue.complete(key_jobs, note="gone"))
                log.extend(_job_entry(job, "gone", note="the source no longer has it") for job in key_jobs)
            else:
                version = max(job.occurred_at for job in key_jobs)
                rounds[0][key] = (SourceDocument(key=key, data=outcome.data, version=version), key_jobs)
        for key, key_jobs in fresh.items():
            if key in triggered:
                continue
            for position, job in enumerate(key_jobs):
                if position == len(rounds):
                    rounds.append({})
                rounds[position][key] = (
                    SourceDocument(key=key, data=job.payload, version=job.occurred_at),
                    [job],
                )
        return [documents for documents in rounds if documents]

    def _sync(
        self,
        documents: Mapping[str, tuple[SourceDocument, list[Job]]],
        result: BatchResult,
        log: list[RunLogEntry],
        runner: SyncRunner,
    ) -> tuple[list[Job], bool]:
        """One ``runner.sync`` over one document per entity; returns the jobs completed and
        whether the worker must pause."""
        jobs_by_key = {key: key_jobs for key, (_, key_jobs) in documents.items()}
        batch = [document for document, _ in documents.values()]
        recorder = self._record_start(batch, jobs_by_key)
        try:
            report = runner.sync(batch)
        except _PAUSING as exc:
            self._pause(jobs_by_key, exc, result, log)
            self._record_end(recorder, RunReport(), error=f"paused: {_describe(exc)}")
            return [], True
        except Exception as exc:  # a transport failure or a bug: no job of the batch is lost
            for key_jobs in jobs_by_key.values():
                self._fail(key_jobs, exc, result, log)
            self._record_end(recorder, RunReport(), error=_describe(exc))
            return [], False
        self._record_end(recorder, report)
        if report.stopped is not None:
            # budget or daily limit: settle the entities fully written, put the rest back
            finished = report.finished_documents()
            self._pause(
                {k: v for k, v in jobs_by_key.items() if k not in finished}, report.stopped, result, log
            )
            done = [document for document in batch if document.key in finished]
            return self._settle(report, done, jobs_by_key, result, log), True
        return self._settle(report, batch, jobs_by_key, result, log), False

    def _record_start(
        self, batch: Sequence[SourceDocument], jobs_by_key: Mapping[str, list[Job]]
    ) -> RunRecorder | None:
        """The batch's run in the connector logs, started now; ``None`` when none are kept, or
        when they cannot be written (a log failure never holds up the events)."""
        if self.batch_runs is None:
            return None
        tenant = next((jobs[0].tenant for jobs in jobs_by_key.values() if jobs), "")
        try:
            return self.batch_runs.start(documents=len(batch), tenant=tenant)
        except Exception as exc:
            logger.warning("worker %s: the connector log cannot be written: %s", self.worker_id, exc)
            return None

    def _record_end(
        self, recorder: RunRecorder | None, report: RunReport, *, error: str | None = None
    ) -> None:
        """The batch's outcomes and end in the connector logs (``error``: the sync raised)."""
        if recorder is None:
            return
        try:
            if error is not None:
                recorder.fail(error, report)
                return
            recorder.on_batch(report)
            recorder.finish(report)
        except Exception as exc:  # the events are applied: a log failure must not undo that
            logger.warning("worker %s: the connector log cannot be written: %s", self.worker_id, exc)

    def _fetch_all(self, keys: Sequence[str]) -> dict[str, SourceDocument | BaseException | None]:
        """Each entity fetched once; per-key errors are returned, budget exhaustion raised."""

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
        """Settle each entity's jobs from its outcomes; returns the jobs completed."""
        outcomes: dict[str, list[RecordOutcome]] = {}
        for outcome in report.outcomes:
            outcomes.setdefault(outcome.document_key, []).append(outcome)
        write_backs: dict[str, list[WriteBackResult]] = {}
        for write_back in report.write_backs:
            write_backs.setdefault(write_back.key, []).append(write_back)
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
            elif failed_back := [item for item in write_backs.get(document.key, []) if not item.ok]:
                log.extend(_write_back_entry(item, event_ids, job_ids) for item in failed_back)
                message = "write-back pending (the target write stands): " + "; ".join(
                    f"{item.path}: {item.error}" for item in failed_back
                )
                retry_after = max((item.retry_after or 0.0 for item in failed_back), default=0.0) or None
                self._settle_failed(
                    key_jobs,
                    message,
                    permanent=any(not item.retriable for item in failed_back),
                    retry_after=retry_after,
                    result=result,
                )
            else:
                log.extend(
                    _write_back_entry(item, event_ids, job_ids) for item in write_backs.get(document.key, [])
                )
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
                    "job %d (event %s, entity %s) is a dead letter after %d attempts: %s;"
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


def _is_triggered(jobs: Sequence[Job]) -> bool:
    """A trigger among an entity's jobs: the fetched current state stands for all of them."""
    return any(job.role is EventRole.TRIGGER for job in jobs)


def _applied_versions(jobs: Sequence[Job]) -> dict[str, float]:
    """The newest applied event time per ordering key of the completed jobs."""
    applied: dict[str, float] = {}
    for job in jobs:
        for key in job.version_keys:
            applied[key] = max(applied.get(key, job.occurred_at), job.occurred_at)
    return applied


def _describe(exc: BaseException) -> str:
    if isinstance(exc, FieldlineError):
        return f"{type(exc).__name__}: {exc}"
    return f"unexpected {type(exc).__name__}: {exc}"


def _job_entry(job: Job, action: str, *, error: str | None = None, note: str | None = None) -> RunLogEntry:
    return RunLogEntry(
        entity_key=job.lock_key,
        source=job.source,
        action=action,
        event_ids=(job.event_id,),
        job_ids=(job.id,),
        error=error or note,
    )


def _write_back_entry(
    result: WriteBackResult, event_ids: tuple[str, ...], job_ids: tuple[int, ...]
) -> RunLogEntry:
    return RunLogEntry(
        entity_key=result.key,
        action=f"write_back_{result.status.value}",
        event_ids=event_ids,
        job_ids=job_ids,
        key=result.path,
        error=result.error,
    )


def _outcome_entry(
    outcome: RecordOutcome, event_ids: tuple[str, ...], job_ids: tuple[int, ...]
) -> RunLogEntry:
    return RunLogEntry(
        entity_key=outcome.document_key,
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
