"""Exponential backoff for Salesforce calls, testable without sleeping.

The sleep function is injected; tests pass one that records the delays instead of waiting.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["RETRIABLE_RECORD_CODES", "RetryPolicy"]

# Per-record status codes worth sending again (the record itself was fine).
RETRIABLE_RECORD_CODES = frozenset({"UNABLE_TO_LOCK_ROW", "SERVER_UNAVAILABLE", "REQUEST_RUNNING_TOO_LONG"})


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how long to wait between attempts.

    Attempt ``n`` (0-based) waits ``base_delay * 2**n`` seconds, capped at ``max_delay``, with up to
    ``jitter`` of it added at random so parallel workers spread out. A server's ``Retry-After``
    wins when given (capped at ``max_retry_after``).
    """

    max_retries: int = 4
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_retry_after: float = 300.0
    jitter: float = 0.1
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number ``attempt + 1``."""
        if retry_after is not None:
            return min(retry_after, self.max_retry_after)
        base = min(self.base_delay * (2.0**attempt), self.max_delay)
        return base + base * self.jitter * random.random()

    def wait(self, attempt: int, retry_after: float | None = None) -> None:
        """Sleep (through the injected function) before the next attempt."""
        self.sleep(self.delay(attempt, retry_after))
