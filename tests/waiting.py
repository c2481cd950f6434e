"""Waiting for something to happen, without racing the wall clock.

Tests wait for a *condition*, never for a fixed time: a busy machine only makes them slower, not
red. The timeout is generous on purpose; it only bounds how long a broken test hangs.
"""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["PATIENCE", "wait_until"]

PATIENCE = 30.0  # seconds: far beyond what any condition needs on a loaded 2-core machine


def wait_until(
    predicate: Callable[[], object], *, timeout: float = PATIENCE, poll: float = 0.01, what: str = ""
) -> None:
    """Return as soon as ``predicate()`` is truthy; raise :class:`TimeoutError` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what or 'condition'} not met within {timeout:g} s")
        time.sleep(poll)
