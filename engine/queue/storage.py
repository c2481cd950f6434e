"""The storage contract: the job queue, the run log and the sync state, opened together by URL.

A backend implements :class:`~fieldline.queue.jobs.JobQueue` and
:class:`~fieldline.queue.run_store.RunStore` and registers a factory per URL scheme through
the ``register_storage_backends`` hook; everything above (receivers, workers, ``status``,
``logs``, ``replay``) only sees :class:`Storage`. The embedded ``sqlite`` backend keeps all
three in one file; a plain path means it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from fieldline.errors import ConfigError
from fieldline.queue.jobs import JobQueue
from fieldline.queue.run_store import RunStore
from fieldline.queue.sync_runs import SyncRunLog

if TYPE_CHECKING:
    import pluggy

__all__ = ["Storage", "StorageFactory", "open_storage", "storage_backends", "storage_url"]


@dataclass(frozen=True, slots=True)
class Storage:
    """One backend's queue and run store (they may share a database)."""

    queue: JobQueue
    runs: RunStore
    url: str
    # connector logs of `fieldline sync` runs; None: this backend keeps none
    sync_runs: SyncRunLog | None = None

    def close(self) -> None:
        try:
            self.queue.close()
        finally:
            try:
                self.runs.close()
            finally:
                if self.sync_runs is not None:
                    self.sync_runs.close()

    def __enter__(self) -> Storage:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


StorageFactory = Callable[[str], Storage]


def storage_url(db: str | Path) -> str:
    """``--db`` as a URL: a plain path means the embedded SQLite backend."""
    text = str(db)
    return text if "://" in text else f"sqlite:///{text}"


def storage_backends(plugin_manager: pluggy.PluginManager | None = None) -> dict[str, StorageFactory]:
    """URL scheme -> factory, from the ``register_storage_backends`` hook.

    The built-in backends, embedded ``sqlite`` (:mod:`fieldline.queue.plugin`) and
    ``postgresql`` (:mod:`fieldline.queue.postgres_plugin`), are always there, even when the
    plugin manager was built without them. Two plugins claiming one scheme is an error.
    """
    from fieldline.plugins.manager import collect
    from fieldline.queue import plugin as sqlite_plugin, postgres_plugin

    builtin = {**postgres_plugin.register_storage_backends(), **sqlite_plugin.register_storage_backends()}
    backends: dict[str, StorageFactory] = {}
    contributions = [] if plugin_manager is None else collect(plugin_manager, "register_storage_backends")
    for _, contributed in contributions:
        for scheme, factory in contributed.items():
            if builtin.get(scheme) == factory:
                continue  # the built-in itself: a plugin may override it
            if scheme in backends and backends[scheme] != factory:
                raise ConfigError(
                    f"two plugins register the storage backend {scheme!r}", hint="uninstall one of them"
                )
            backends[scheme] = factory
    for scheme, factory in builtin.items():
        backends.setdefault(scheme, factory)
    return backends


def open_storage(db: str | Path, *, plugin_manager: pluggy.PluginManager | None = None) -> Storage:
    """Open the queue and run store at ``db``: ``sqlite:///relative.db``, ``sqlite:////abs.db``,
    another backend's URL, or a plain file path (SQLite)."""
    url = storage_url(db)
    scheme = url.partition("://")[0]
    backends = storage_backends(plugin_manager)
    factory = backends.get(scheme)
    if factory is None:
        raise ConfigError(
            f"no storage backend for {scheme!r} URLs",
            hint=f"installed backends: {', '.join(sorted(backends))}",
        )
    return factory(url)
