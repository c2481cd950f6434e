"""Match normalizers: applied to both sides of a match rule before comparing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["BUILTIN_NORMALIZERS"]


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _trim(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


BUILTIN_NORMALIZERS: dict[str, Callable[[Any], Any]] = {"lower": _lower, "trim": _trim}
