"""Wiring for ``serve`` and ``worker``: specs and one storage -> the app and the workers.

One service runs several specs at once: each spec's source gets its own endpoint
(``/webhooks/{name}``, the source adapter's name) and its own jobs in the shared queue, and
its own workers (each with its own source, target and runner). A spec whose source receives
no webhooks (or that has none) is served for its lookups only.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pluggy
from starlette.applications import Starlette
from starlette.types import ASGIApp

from fieldline.contracts import SourceDocument, TargetAdapter, WebhookSource
from fieldline.errors import ConfigError, FieldlineError, QueueError
from fieldline.lookups.auth import CallerAuth
from fieldline.lookups.directory import LookupDirectory
from fieldline.queue.jobs import JobQueue
from fieldline.queue.run_store import RunStore
from fieldline.queue.storage import Storage, open_storage
from fieldline.service.admin_auth import AdminAccess
from fieldline.service.app import ServiceSettings, create_app
from fieldline.service.lookup_wiring import open_lookups
from fieldline.service.worker import Closeable, SyncRunner, Worker, WorkerSettings
from fieldline.spec.model import Spec
from fieldline.sync.connector_log import BatchRuns
from fieldline.sync.runner import RunReport

__all__ = ["ServiceContext", "check_storage_writable", "open_context", "source_names", "split_specs"]

logger = logging.getLogger("fieldline.service")


def source_names(specs: Sequence[Spec]) -> dict[str, Spec]:
    """Each spec under its source's queue name (the endpoint ``/webhooks/{name}``).

    Two specs reading one source adapter would share an endpoint and a queue: refused.
    """
    named: dict[str, Spec] = {}
    for spec in specs:
        if spec.source is None:
            raise ConfigError(
                f"{spec.file or spec.name}: the spec has no source", hint="add source: {adapter: ...}"
            )
        name = spec.source.adapter
        if name in named:
            other = named[name]
            raise ConfigError(
                f"{spec.file or spec.name} and {other.file or other.name} both read the source {name!r}",
                hint="serve one spec per source adapter (run a second service for the other)",
            )
        named[name] = spec
    return named


def split_specs(
    specs: Sequence[Spec], manager: pluggy.PluginManager
) -> tuple[dict[str, Spec], tuple[Spec, ...]]:
    """(specs whose source receives webhooks, by source name; specs served for their lookups only).

    A spec without a source, or whose source cannot receive webhooks (Salesforce, files), is
    served for its lookups alone (``GET /lookup/...``: the Brightback-style deployment); without
    lookups it gives the service nothing to do, which is refused.
    """
    from fieldline.sync.adapter_builder import build_source

    receiving: list[Spec] = []
    lookups_only: list[Spec] = []
    for spec in specs:
        if spec.source is not None:
            source = build_source(spec, manager, fetching=False)
            try:
                if isinstance(source, WebhookSource):
                    receiving.append(spec)
                    continue
            finally:
                source.close()
        if not spec.lookups:
            where = spec.file or spec.name
            if spec.source is None:
                raise ConfigError(
                    f"{where}: the spec has no source and no lookups: the service has nothing to do with it",
                    hint="add a source that receives webhooks, or lookups to serve",
                )
            raise ConfigError(
                f"{where}: the source adapter {spec.source.adapter!r} cannot receive webhooks"
                " and the spec declares no lookups",
                hint="use `fieldline sync` for sources without webhooks, or declare lookups to serve",
            )
        lookups_only.append(spec)
    if not receiving and not lookups_only:
        raise ConfigError("no spec to serve", hint="give --spec FILE (or a folder of specs)")
    return source_names(receiving), tuple(lookups_only)


@dataclass
class ServiceContext:
    """Everything ``serve`` and ``worker`` share: build workers and the app from it."""

    specs: dict[str, Spec]  # source name -> spec, for the specs whose source receives webhooks
    plugin_manager: pluggy.PluginManager
    storage: Storage
    lookup_specs: tuple[Spec, ...] = ()  # specs served for their lookups only (no webhook source)
    worker_settings: WorkerSettings = field(default_factory=WorkerSettings)
    runner_batch_size: int = 500

    @property
    def queue(self) -> JobQueue:
        return self.storage.queue

    @property
    def store(self) -> RunStore:
        return self.storage.runs

    @property
    def source_names(self) -> list[str]:
        return sorted(self.specs)

    @property
    def lookup_names(self) -> list[str]:
        """Every lookup served, from the webhook specs and the lookup-only ones."""
        return sorted(name for spec in self.all_specs for name in spec.lookups)

    @property
    def all_specs(self) -> list[Spec]:
        return [*self.specs.values(), *self.lookup_specs]

    def make_worker(self, worker_id: str, source_name: str) -> Worker:
        """A worker for one spec with its own source, target and runner (adapters are not shared)."""
        from fieldline.sync.adapter_builder import build_source, build_target
        from fieldline.sync.runner import Runner

        spec = self.specs[source_name]
        source = build_source(spec, self.plugin_manager)
        runner: SyncRunner
        resources: tuple[Closeable, ...]
        if spec.connections is not None:
            # every event is written through its tenant's connection: no target of the environment's
            runner, resources = _NoTenant(spec), (source,)
        else:
            try:
                target = build_target(spec, self.plugin_manager)
            except Exception:
                source.close()
                raise
            runner = Runner(
                spec,
                target,
                source=source,
                plugin_manager=self.plugin_manager,
                batch_size=self.runner_batch_size,
            )
            resources = (source, target)

        def tenant_runner(tenant: str) -> tuple[Runner, TargetAdapter]:
            # one target per tenant (its own login and client), built on the tenant's first event
            tenant_target = build_target(spec, self.plugin_manager, tenant=tenant)
            built = Runner(
                spec,
                tenant_target,
                source=source,
                plugin_manager=self.plugin_manager,
                batch_size=self.runner_batch_size,
            )
            return built, tenant_target

        return Worker(
            self.queue,
            self.store,
            source,
            runner,
            worker_id=worker_id,
            source_name=source_name,
            settings=self.worker_settings,
            resources=resources,
            write_back_paths=spec.write_back_paths,
            tenant_runners=tenant_runner if spec.connections is not None else None,
            batch_runs=(
                BatchRuns(self.storage.sync_runs, spec, worker_id=worker_id)
                if self.storage.sync_runs is not None
                else None
            ),
        )

    def make_workers(self, count: int, *, prefix: str) -> list[Worker]:
        """``count`` workers per spec; adapters are built now, so bad settings fail before
        anything runs."""
        workers: list[Worker] = []
        try:
            for name in self.source_names:
                for index in range(count):
                    worker_id = f"{prefix}-{index}" if len(self.specs) == 1 else f"{prefix}-{name}-{index}"
                    workers.append(self.make_worker(worker_id, name))
        except Exception:
            for worker in workers:
                worker.close()
            raise
        return workers

    def start_workers(
        self,
        count: int,
        stop: threading.Event,
        *,
        prefix: str,
        wake: threading.Event | None = None,
        workers: list[Worker] | None = None,
    ) -> list[threading.Thread]:
        """Worker threads (``count`` new ones per spec, or the given ``workers``) running until ``stop``."""
        threads: list[threading.Thread] = []
        for worker in workers if workers is not None else self.make_workers(count, prefix=prefix):
            thread = threading.Thread(
                target=worker.run, args=(stop,), kwargs={"wake": wake}, name=f"fieldline-{worker.worker_id}"
            )
            thread.start()
            threads.append(thread)
        return threads

    def purge(self, retention_seconds: float) -> tuple[int, int]:
        """Forget settled jobs and run-log entries older than the retention; returns the counts."""
        before = time.time() - retention_seconds
        jobs = self.queue.purge(before)
        entries = self.store.purge(before)
        if self.storage.sync_runs is not None:  # the connector logs of batches and syncs alike
            entries += self.storage.sync_runs.purge(before)
        if jobs or entries:
            logger.info("purged %d settled jobs and %d log entries older than %s", jobs, entries, before)
        return jobs, entries

    def _janitor(self, retention_seconds: float, stop: threading.Event, interval: float) -> None:
        while True:
            try:
                self.purge(retention_seconds)
            except FieldlineError as exc:
                logger.warning("purging old jobs failed: %s", exc)
            if stop.wait(interval):
                return

    def _receivers(self) -> dict[str, WebhookSource]:
        """Each spec's source, built to receive only (no fetch settings needed), checked."""
        from fieldline.sync.adapter_builder import build_source, run_check

        receivers: dict[str, WebhookSource] = {}
        try:
            for name in self.source_names:
                source = build_source(self.specs[name], self.plugin_manager, fetching=False)
                if not isinstance(source, WebhookSource):
                    source.close()
                    raise ConfigError(
                        f"the source adapter {name!r} cannot receive webhooks",
                        hint="use `fieldline sync` for sources without webhooks",
                    )
                run_check(source, source.check_receiving)
                receivers[name] = source
        except BaseException:
            for receiver in receivers.values():
                receiver.close()
            raise
        return receivers

    def create_app(
        self,
        *,
        workers: int,
        service_settings: ServiceSettings | None = None,
        prefix: str = "serve",
        retention_days: float | None = 30.0,
        purge_interval: float = 3600.0,
        admin: AdminAccess | None = None,
        console: bool = False,
    ) -> Starlette:
        """The webhook app; ``workers`` threads per spec start and stop with it (0: receive only).

        With ``retention_days``, settled jobs and run-log entries older than that are deleted at
        start and every ``purge_interval`` seconds (dead letters and live jobs stay). ``admin``:
        the operator token and allowed ``Host`` names (see :func:`fieldline.service.app.create_app`).
        ``console``: serve the operator's console at ``/ui`` (behind the same operator token)."""
        receivers = self._receivers()
        try:
            lookups = open_lookups(self.all_specs, self.plugin_manager)
        except BaseException:
            for receiver in receivers.values():
                receiver.close()
            raise
        stop = threading.Event()
        wake = threading.Event()
        threads: list[threading.Thread] = []
        try:
            ready = self.make_workers(workers, prefix=prefix)
        except Exception:
            for receiver in receivers.values():
                receiver.close()
            raise

        def on_startup() -> None:
            threads.extend(self.start_workers(len(ready), stop, prefix=prefix, wake=wake, workers=ready))
            if retention_days:
                janitor = threading.Thread(
                    target=self._janitor,
                    args=(retention_days * 86400, stop, purge_interval),
                    name="fieldline-janitor",
                )
                janitor.start()
                threads.append(janitor)

        def on_shutdown() -> None:
            stop.set()
            wake.set()
            for thread in threads:
                thread.join(timeout=60)
            for receiver in receivers.values():
                receiver.close()
            if lookups is not None:
                lookups[0].close()

        settings = service_settings or ServiceSettings()
        return create_app(
            console=self._console(settings, admin or AdminAccess(), lookups) if console else None,
            queue=self.queue,
            sources=receivers,
            settings=settings,
            on_startup=on_startup,
            on_shutdown=on_shutdown,
            wake=wake,
            admin=admin,
            lookups=lookups,
        )

    def _console(
        self,
        settings: ServiceSettings,
        admin: AdminAccess,
        lookups: tuple[LookupDirectory, CallerAuth] | None,
    ) -> ASGIApp:
        from fieldline.console.data import ConsoleData
        from fieldline.console.pages import create_console
        from fieldline.console.sessions import SessionBook

        data = ConsoleData(
            storage=self.storage,
            specs=self.specs,
            plugin_manager=self.plugin_manager,
            stalled_after=settings.stalled_after,
            lookup_status=lookups[0].status_json if lookups is not None else None,
        )
        return create_console(data, SessionBook(token=admin.token))

    def close(self) -> None:
        self.storage.close()


class _NoTenant:
    """The runner for events without a tenant in a spec with tenant connections: it has no
    target to write them to, so their jobs wait (a ConfigError pauses them) and say why."""

    def __init__(self, spec: Spec) -> None:
        self.spec = spec

    def sync(self, documents: Iterable[SourceDocument]) -> RunReport:
        raise ConfigError(
            f"{self.spec.file or self.spec.name}: an event without a tenant, but the spec writes"
            " through its tenants' connections only",
            hint="the source must give every event its tenant (an app event's JWT sub)",
        )


def open_context(
    specs: Spec | Sequence[Spec],
    db: str | Path,
    *,
    plugin_manager: pluggy.PluginManager,
    worker_settings: WorkerSettings | None = None,
    runner_batch_size: int = 500,
) -> ServiceContext:
    """Open the storage at ``db`` (a path: one SQLite file holds the queue and run store) and
    check that it can be written: serve and workers write it, so an unwritable one stops here."""
    named, lookups_only = split_specs([specs] if isinstance(specs, Spec) else specs, plugin_manager)
    storage = open_storage(db, plugin_manager=plugin_manager)
    try:
        check_storage_writable(storage)
    except BaseException:
        storage.close()
        raise
    return ServiceContext(
        specs=named,
        plugin_manager=plugin_manager,
        storage=storage,
        lookup_specs=lookups_only,
        worker_settings=worker_settings or WorkerSettings(),
        runner_batch_size=runner_batch_size,
    )


def check_storage_writable(storage: Storage) -> None:
    """A :class:`ConfigError` (exit 2) when the queue cannot be written: a read-only file or
    file system, a full disk, an I/O error. Opening alone does not tell (SQLite opens a file it
    may not write read-only, and reads work), so this commits a probe row."""
    try:
        storage.queue.check_writable()
    except QueueError as exc:
        raise ConfigError(
            f"the queue at {storage.url} cannot be written: {exc.message}",
            hint="give the service user write access to the file and its folder, and check the disk",
        ) from exc
