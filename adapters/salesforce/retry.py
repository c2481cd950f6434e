"""Exponential backoff for Salesforce calls, testable without sleeping.

The sleep function is injected; tests pass one that records the delays instead of waiting.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from fieldline.backoff import backoff_delay

__all__ = ["RETRIABLE_RECORD_CODES", "RetryPolicy"]

# Per-record status codes worth sending again (the record itself was fine).
RETRIABLE_RECORD_CODES = frozenset({"UNABLE_TO_LOCK_ROW", "SERVER_UNAVAILABLE", "REQUEST_RUNNING_TOO_LONG"})


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how long to wait between attempts.

    Attempt ``n`` (0-based) waits between half and all of ``base_delay * 2**n`` seconds, capped at
    ``max_delay`` (:func:`fieldline.backoff.backoff_delay`: parallel workers spread out). A
    server's ``Retry-After`` wins when given (capped at ``max_retry_after``).

    ``max_total_wait`` bounds the time one call spends waiting in place: a longer wait is handed
    to the caller (:class:`~fieldline.errors.TransientAdapterError` with ``retry_after``), so a
    queue worker reschedules the job instead of holding a thread (and a shutdown) for minutes.
    """

    max_retries: int = 4
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_retry_after: float = 300.0
    max_total_wait: float = 30.0
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)
    rng: Callable[[], float] = field(default=random.random, compare=False)

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number ``attempt + 1``."""
        if retry_after is not None:
            return min(retry_after, self.max_retry_after)
        return backoff_delay(attempt, base=self.base_delay, cap=self.max_delay, rng=self.rng)

    def wait(self, attempt: int, retry_after: float | None = None) -> None:
        """Sleep (through the injected function) before the next attempt."""
        self.sleep(self.delay(attempt, retry_after))
