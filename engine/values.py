"""Sentinels for values that are not there.

A CRM cares about the difference between a source that does not mention a field (``MISSING``),
one that says it is empty (``None``) and one that says ``""``. ``None`` is a real value in
fieldline, so absence gets its own sentinel (the way httpx uses ``USE_CLIENT_DEFAULT``).
"""

from __future__ import annotations

import enum
from typing import Any, Final, Literal, TypeAlias

__all__ = ["MISSING", "Missing", "is_blank"]


class Missing(enum.Enum):
    """The type of ``MISSING``: the source has no such key (or the spec set no such option)."""

    MISSING = "MISSING"

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Final = Missing.MISSING
MissingType: TypeAlias = Literal[Missing.MISSING]


def is_blank(value: Any) -> bool:
    """True for the values a CRM shows as an empty field: missing, null and the empty string."""
    return value is MISSING or value is None or value == ""
