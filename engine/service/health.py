"""``GET /healthz``'s storage check: can the queue store an event right now?

The answer comes from the queue's own write probe (:meth:`JobQueue.check_writable`), so a full
disk, an I/O error or a read-only file turns health to 503 before any webhook is lost to it.
``/healthz`` is open to anyone, so a probe result is reused for ``max_age`` seconds and only
one probe runs at a time: hammering it costs at most one small commit per interval.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from starlette.concurrency import run_in_threadpool

from fieldline.errors import FieldlineError
from fieldline.queue.jobs import JobQueue

__all__ = ["StorageProbe"]

logger = logging.getLogger("fieldline.service")


class StorageProbe:
    """Whether ``queue`` can store now, probed at most once per ``max_age`` seconds."""

    def __init__(
        self, queue: JobQueue, *, max_age: float = 1.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.queue = queue
        self.max_age = max_age
        self.clock = clock
        self._lock = asyncio.Lock()
        self._checked_at: float | None = None
        self._ok = True

    async def ok(self) -> bool:
        async with self._lock:
            now = self.clock()
            if self._checked_at is None or now - self._checked_at >= self.max_age:
                self._record(await run_in_threadpool(self._probe))
                self._checked_at = self.clock()
            return self._ok

    def _probe(self) -> str | None:
        try:
            self.queue.check_writable()
        except Exception as exc:  # any failure means "cannot store"; never a traceback
            return str(exc) if isinstance(exc, FieldlineError) else f"unexpected {type(exc).__name__}: {exc}"
        return None

    def _record(self, failure: str | None) -> None:
        # One log line when health changes, not one per poll.
        if failure is not None and self._ok:
            logger.error("health: the queue cannot store events: %s", failure)
        elif failure is None and not self._ok:
            logger.info("health: the queue stores events again")
        self._ok = failure is None
