"""Salesforce-style record ids: 15 case-sensitive characters plus a 3-character case checksum.

The 18-character form is case-insensitive: its suffix records which of the first 15 characters are
upper case, so :func:`normalize_id` can restore the canonical id from any letter case.
"""

from __future__ import annotations

import itertools
import re

__all__ = ["IdGenerator", "normalize_id"]

_SUFFIX_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_ID_SHAPE = re.compile(r"^[a-zA-Z0-9]{15}(?:[A-Z0-5]{3})?$", re.IGNORECASE)


def _suffix(id15: str) -> str:
    out = []
    for chunk in range(3):
        bits = 0
        for position, char in enumerate(id15[chunk * 5 : chunk * 5 + 5]):
            if "A" <= char <= "Z":
                bits |= 1 << position
        out.append(_SUFFIX_ALPHABET[bits])
    return "".join(out)


def normalize_id(value: str) -> str | None:
    """The canonical 18-character id for a 15- or 18-character id, or ``None`` if malformed."""
    if not isinstance(value, str) or not _ID_SHAPE.match(value):
        return None
    if len(value) == 15:
        return value + _suffix(value)
    suffix = value[15:].upper()
    chars = []
    for chunk in range(3):
        bits = _SUFFIX_ALPHABET.index(suffix[chunk])
        for position in range(5):
            char = value[chunk * 5 + position]
            chars.append(char.upper() if bits & (1 << position) else char.lower())
    id15 = "".join(chars)
    if _suffix(id15) != suffix:
        return None
    return id15 + suffix


class IdGenerator:
    """Hands out new ids per key prefix: ``001`` + pod-like ``8d000`` + a base-62 counter."""

    def __init__(self, start: int = 1) -> None:
        self._counter = itertools.count(start)
        self.last = start - 1

    def new(self, prefix: str) -> str:
        number = next(self._counter)
        self.last = number
        digits = []
        for _ in range(7):
            number, rest = divmod(number, 62)
            digits.append(_BASE62[rest])
        id15 = f"{prefix}8d000{''.join(reversed(digits))}"
        return id15 + _suffix(id15)
