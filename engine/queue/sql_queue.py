"""What the SQL queue backends share beyond rows: retry settings, backoff and the retry decision."""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence

from fieldline.backoff import backoff_delay
from fieldline.contracts import SourceEvent
from fieldline.errors import ConfigError
from fieldline.queue.jobs import EnqueueGroup, EnqueueResult, Job, JobState

__all__ = ["SQLJobQueueBase"]


class SQLJobQueueBase(ABC):
    """Base of the SQLite and PostgreSQL job queues; each adds its SQL and transactions."""

    max_attempts: int
    backoff_base: float
    backoff_max: float
    recover_interval: float
    clock: Callable[[], float]

    def _init_retries(
        self,
        *,
        max_attempts: int,
        backoff_base: float,
        backoff_max: float,
        recover_interval: float,
        clock: Callable[[], float],
        rng: random.Random | None,
    ) -> None:
        if max_attempts < 1:
            raise ConfigError("max_attempts must be at least 1")
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.recover_interval = recover_interval
        self.clock = clock
        self._rng = rng or random.Random()
        self._last_recovery = float("-inf")

    def enqueue(
        self, events: Sequence[SourceEvent], *, source: str, ignored: Iterable[str] = ()
    ) -> EnqueueResult:
        """Store events durably in one transaction; dedupe by (source, id)."""
        return self.enqueue_groups([EnqueueGroup(source, events, frozenset(ignored))])[0]

    @abstractmethod
    def enqueue_groups(self, groups: Sequence[EnqueueGroup]) -> list[EnqueueResult]:
        """Store several requests' events in one transaction (group commit), one result each."""

    def backoff_delay(self, attempts: int, retry_after: float | None = None) -> float:
        """Seconds before the next attempt: exponential with jitter, never below ``retry_after``."""
        delay = backoff_delay(
            max(0, attempts - 1), base=self.backoff_base, cap=self.backoff_max, rng=self._rng.random
        )
        if retry_after is not None:
            delay = max(delay, retry_after)
        return delay

    def _after_failure(self, job: Job, retry_after: float | None, permanent: bool) -> tuple[JobState, float]:
        """The failed job's next state and the delay before it runs again."""
        dead = permanent or job.attempts >= self.max_attempts
        delay = 0.0 if dead else self.backoff_delay(job.attempts, retry_after)
        return (JobState.DEAD if dead else JobState.TODO), delay
