"""Call statistics for status: last success, last failure (redacted), counts over the last hour."""

from __future__ import annotations

import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["CallStats", "redact_message"]

WINDOW_SECONDS = 3600.0
_MAX_MESSAGE = 300
# Salesforce session ids (00D...!...), bearer credentials and long opaque tokens.
_SECRETS = re.compile(r"00D[A-Za-z0-9]{12,15}![A-Za-z0-9._-]+|(?i:bearer)\s+\S+|\b[A-Za-z0-9+/=_-]{40,}\b")


def redact_message(message: str, *, values: tuple[str, ...] = ()) -> str:
    """``message`` without credentials or the looked-up values (CRM data), cut short."""
    for value in values:
        if value:
            message = message.replace(value, "<value>")
    return _SECRETS.sub("<redacted>", message)[:_MAX_MESSAGE]


@dataclass(slots=True)
class _Outcome:
    at: float
    ok: bool


class CallStats:
    """Outcomes of one lookup (or spec): thread-safe; ``clock`` (wall seconds) is injectable;
    ``parent`` is told every outcome too."""

    def __init__(self, *, clock: Callable[[], float] = time.time, parent: CallStats | None = None) -> None:
        self._clock = clock
        self._parent = parent  # also told every outcome (a spec's stats, for its lookups)
        self._lock = threading.Lock()
        self._recent: deque[_Outcome] = deque()
        self.last_success: float | None = None
        self.last_failure: float | None = None
        self.last_error: str | None = None

    def success(self) -> None:
        with self._lock:
            now = self._clock()
            self.last_success = now
            self._add(_Outcome(now, True))
        if self._parent is not None:
            self._parent.success()

    def failure(self, message: str) -> None:
        """Record a failed call; ``message`` must already be redacted."""
        with self._lock:
            now = self._clock()
            self.last_failure = now
            self.last_error = message
            self._add(_Outcome(now, False))
        if self._parent is not None:
            self._parent.failure(message)

    def _add(self, outcome: _Outcome) -> None:
        self._recent.append(outcome)
        self._prune(outcome.at)

    def _prune(self, now: float) -> None:
        while self._recent and self._recent[0].at <= now - WINDOW_SECONDS:
            self._recent.popleft()

    def as_json(self) -> dict[str, Any]:
        """``last_success``/``last_failure`` (epoch seconds or null), ``last_error``, and the
        ``succeeded``/``failed`` counts of the last hour."""
        with self._lock:
            self._prune(self._clock())
            succeeded = sum(1 for outcome in self._recent if outcome.ok)
            return {
                "last_success": self.last_success,
                "last_failure": self.last_failure,
                "last_error": self.last_error,
                "last_hour": {"succeeded": succeeded, "failed": len(self._recent) - succeeded},
            }
