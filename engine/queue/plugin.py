"""The embedded SQLite storage backend, registered the way any backend plugin registers.

:func:`fieldline.queue.storage.storage_backends` falls back to it when no plugin provides
``sqlite``, so it works whether or not this module is listed among the built-in plugins.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from fieldline.plugins.hookspecs import hookimpl

if TYPE_CHECKING:  # the storage module loads when a backend opens, not when it registers
    from fieldline.queue.storage import Storage, StorageFactory


@hookimpl(trylast=True)
def register_storage_backends() -> Mapping[str, StorageFactory]:
    """``sqlite:///path.db`` -> the queue, run log and sync state in that one file."""
    return {"sqlite": open_sqlite_storage}


def open_sqlite_storage(url: str) -> Storage:
    """The queue (:class:`~fieldline.queue.sqlite_queue.SQLiteJobQueue`), the run store
    (:class:`~fieldline.queue.sqlite_run_store.SQLiteRunStore`) and the connector logs
    (:class:`~fieldline.queue.sqlite_sync_runs.SQLiteSyncRuns`) on the file ``url`` names."""
    from fieldline.queue.sqlite_file import sqlite_path_from_url
    from fieldline.queue.sqlite_queue import SQLiteJobQueue
    from fieldline.queue.sqlite_run_store import SQLiteRunStore
    from fieldline.queue.sqlite_sync_runs import SQLiteSyncRuns

    queue = SQLiteJobQueue.from_url(url)
    path = sqlite_path_from_url(url)[0]
    try:
        runs = SQLiteRunStore(path)
    except BaseException:
        queue.close()
        raise
    try:
        sync_runs = SQLiteSyncRuns(path)
    except BaseException:
        queue.close()
        runs.close()
        raise
    from fieldline.queue.storage import Storage

    return Storage(queue=queue, runs=runs, url=url, sync_runs=sync_runs)
