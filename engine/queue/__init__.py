"""Storage: the durable job queue, the run log and the sync state behind one contract."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fieldline.exports import exported, resolve

if TYPE_CHECKING:
    from fieldline.queue.jobs import (
        DeadLetter as DeadLetter,
        EnqueueGroup as EnqueueGroup,
        EnqueueResult as EnqueueResult,
        FailureInfo as FailureInfo,
        Job as Job,
        JobQueue as JobQueue,
        JobState as JobState,
        QueueHealth as QueueHealth,
        QueueStatus as QueueStatus,
        QueueStatusJSON as QueueStatusJSON,
    )
    from fieldline.queue.run_store import RunLogEntry as RunLogEntry, RunStore as RunStore, redact as redact
    from fieldline.queue.storage import (
        Storage as Storage,
        open_storage as open_storage,
        storage_backends as storage_backends,
    )

__all__ = exported(__file__)


def __getattr__(name: str) -> Any:
    return resolve(__name__, __file__, name)
