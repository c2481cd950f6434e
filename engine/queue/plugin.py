"""The embedded SQLite queue backend, registered the way any backend plugin registers.

:func:`fieldline.queue.queue_backends` falls back to it when no plugin provides ``sqlite``, so
it works whether or not this module is listed among the built-in plugins.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from fieldline.plugins.hookspecs import hookimpl
from fieldline.queue import JobQueue


@hookimpl(trylast=True)
def register_queue_backends() -> Mapping[str, Callable[[str], JobQueue]]:
    """``sqlite:///path.db`` -> :class:`fieldline.queue.sqlite.SQLiteJobQueue`."""
    from fieldline.queue.sqlite import SQLiteJobQueue

    return {"sqlite": SQLiteJobQueue.from_url}
