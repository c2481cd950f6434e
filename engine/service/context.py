"""Wiring for ``serve`` and ``worker``: a spec, a queue and a run store -> app and workers."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pluggy
from starlette.applications import Starlette

from fieldline.contracts import WebhookSource
from fieldline.errors import ConfigError, FieldlineError
from fieldline.queue import JobQueue, open_queue
from fieldline.queue.run_store import RunStore
from fieldline.service.app import ServiceSettings, create_app
from fieldline.service.worker import Worker, WorkerSettings
from fieldline.spec.model import Spec

__all__ = ["ServiceContext", "open_context", "queue_url", "store_path"]

logger = logging.getLogger("fieldline.service")


def queue_url(db: str | Path) -> str:
    """``--db`` as a queue URL: a plain path means the embedded SQLite backend."""
    text = str(db)
    return text if "://" in text else f"sqlite:///{text}"


def store_path(db: str | Path) -> str:
    """The SQLite file of ``--db`` (a path or a ``sqlite:///`` URL) for the run log and sync state."""
    text = str(db)
    if text.startswith("sqlite:///"):
        return text.removeprefix("sqlite:///").split("?", 1)[0]
    if "://" in text:
        raise ConfigError(
            f"the run log needs a SQLite file, got {text!r}",
            hint="give --db a file path; other queue backends keep their own run log (not yet)",
        )
    return text


@dataclass
class ServiceContext:
    """Everything ``serve`` and ``worker`` share: build workers and the app from it."""

    spec: Spec
    plugin_manager: pluggy.PluginManager
    queue: JobQueue
    store: RunStore
    worker_settings: WorkerSettings = field(default_factory=WorkerSettings)
    runner_batch_size: int = 500

    @property
    def source_name(self) -> str:
        if self.spec.source is None:
            raise ConfigError(f"{self.spec.file or self.spec.name}: the spec has no source")
        return self.spec.source.adapter

    def make_worker(self, worker_id: str) -> Worker:
        """A worker with its own source, target and runner (adapters are not shared)."""
        from fieldline.sync.adapter_builder import build_source, build_target
        from fieldline.sync.runner import Runner

        source = build_source(self.spec, self.plugin_manager)
        try:
            target = build_target(self.spec, self.plugin_manager)
        except Exception:
            source.close()
            raise
        runner = Runner(
            self.spec, target, plugin_manager=self.plugin_manager, batch_size=self.runner_batch_size
        )
        return Worker(
            self.queue,
            self.store,
            source,
            runner,
            worker_id=worker_id,
            settings=self.worker_settings,
            resources=(source, target),
        )

    def make_workers(self, count: int, *, prefix: str) -> list[Worker]:
        """``count`` workers; adapters are built now, so bad settings fail before anything runs."""
        workers: list[Worker] = []
        try:
            for index in range(count):
                workers.append(self.make_worker(f"{prefix}-{index}"))
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
        """Worker threads (``count`` new ones, or the given ``workers``) running until ``stop``."""
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
        if jobs or entries:
            logger.info("purged %d settled jobs and %d run-log entries older than %s", jobs, entries, before)
        return jobs, entries

    def _janitor(self, retention_seconds: float, stop: threading.Event, interval: float) -> None:
        while True:
            try:
                self.purge(retention_seconds)
            except FieldlineError as exc:
                logger.warning("purging old jobs failed: %s", exc)
            if stop.wait(interval):
                return

    def create_app(
        self,
        *,
        workers: int,
        service_settings: ServiceSettings | None = None,
        prefix: str = "serve",
        retention_days: float | None = 30.0,
        purge_interval: float = 3600.0,
    ) -> Starlette:
        """The webhook app; ``workers`` threads start and stop with it (0: receive only).

        With ``retention_days``, settled jobs and run-log entries older than that are deleted at
        start and every ``purge_interval`` seconds (dead letters and live jobs stay)."""
        from fieldline.sync.adapter_builder import build_source, run_check

        source = build_source(self.spec, self.plugin_manager, fetching=False)  # it only receives
        if not isinstance(source, WebhookSource):
            source.close()
            raise ConfigError(
                f"the source adapter {self.source_name!r} cannot receive webhooks",
                hint="use `fieldline sync` for sources without webhooks",
            )
        run_check(source, source.check_receiving)
        stop = threading.Event()
        wake = threading.Event()
        threads: list[threading.Thread] = []
        try:
            ready = self.make_workers(workers, prefix=prefix)
        except Exception:
            source.close()
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
            source.close()

        return create_app(
            queue=self.queue,
            source=source,
            source_name=self.source_name,
            settings=service_settings,
            on_startup=on_startup,
            on_shutdown=on_shutdown,
            wake=wake,
        )

    def close(self) -> None:
        self.queue.close()
        self.store.close()


def open_context(
    spec: Spec,
    db: str | Path,
    *,
    plugin_manager: pluggy.PluginManager,
    worker_settings: WorkerSettings | None = None,
    runner_batch_size: int = 500,
) -> ServiceContext:
    """Open the queue and run store at ``db`` (one SQLite file holds both)."""
    queue = open_queue(queue_url(db), plugin_manager=plugin_manager)
    try:
        store = RunStore(store_path(db))
    except Exception:
        queue.close()
        raise
    return ServiceContext(
        spec=spec,
        plugin_manager=plugin_manager,
        queue=queue,
        store=store,
        worker_settings=worker_settings or WorkerSettings(),
        runner_batch_size=runner_batch_size,
    )
