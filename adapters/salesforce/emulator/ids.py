"""Salesforce-style record ids: 15 case-sensitive characters plus a 3-character case checksum.

The 18-character form is case-insensitive: its suffix records which of the first 15 characters are
upper case, so :func:`normalize_id` can restore the canonical id from any letter case.
"""

from __future__ import annotations

import itertools
import re

__all__ = ["IdGenerator", "normalize_id"]

_SUFFIX_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
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
    """Hands out new ids: key prefix + pod-like ``8d000`` + a 7-digit hex counter (one per org).

    The counter has no upper-case letters, so the case checksum depends on the prefix
    alone and is computed once per prefix.
    """

    def __init__(self, start: int = 1) -> None:
        self._counter = itertools.count(start)
        self.last = start - 1
        self._suffixes: dict[str, str] = {}

    def new(self, prefix: str) -> str:
        number = next(self._counter)
        self.last = number
        digits = f"{number:07x}"  # lower-case hex: 268 million ids, and no upper-case letters
        head = f"{prefix}8d000"
        suffix = self._suffixes.get(prefix)
        if suffix is None:
            suffix = self._suffixes[prefix] = _suffix(head + "0000000")
        return f"{head}{digits}{suffix}"
