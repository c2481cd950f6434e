"""Exponential backoff for Salesforce calls, testable without sleeping.

The sleep function is injected; tests pass one that records the delays instead of waiting.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from fieldline.backoff import backoff_delay

__all__ = ["RESEND_NOW_RECORD_CODES", "RETRIABLE_RECORD_CODES", "RetryPolicy", "record_code_retriable"]

# Per-record status codes (a Collections SaveResult's ``statusCode``, a Bulk ``sf__Error``) where
# the record itself was fine, so sending it again can succeed. From the documented codes
# (docs/salesforce.md, "Retries, limits and budget"); any other code is the record's own fault
# (REQUIRED_FIELD_MISSING, DUPLICATE_VALUE, INVALID_FIELD, NOT_FOUND, ...) and would fail again.
RESEND_NOW_RECORD_CODES = frozenset(
    {
        "UNABLE_TO_LOCK_ROW",  # another transaction held the row; documented as retryable
        "UNKNOWN_EXCEPTION",  # Salesforce's 500 "internal error", reported for one record
        "SERVER_UNAVAILABLE",  # 503
        "API_TEMPORARILY_UNAVAILABLE",  # maintenance window
        "REQUEST_RUNNING_TOO_LONG",  # a server-side timeout
        "ALL_OR_NONE_OPERATION_ROLLED_BACK",  # rolled back for another record's fault
    }
)
# Retriable too, but only later: the org's rolling 24-hour limit, or a session to renew first.
# Sending them again at once would only spend calls.
_RESEND_LATER_RECORD_CODES = frozenset({"REQUEST_LIMIT_EXCEEDED", "INVALID_SESSION_ID"})
RETRIABLE_RECORD_CODES = RESEND_NOW_RECORD_CODES | _RESEND_LATER_RECORD_CODES


def record_code_retriable(code: str) -> bool:
    """Whether a record refused with ``code`` may succeed when sent again (now or later)."""
    return code in RETRIABLE_RECORD_CODES


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
