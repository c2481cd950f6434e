"""Target-aware value comparison: would writing ``new`` change what the target holds as ``old``?

The planner sends only fields that change, so "equal" has to mean what the target means by it,
or a re-sync would rewrite values the target merely spells differently:

- ``blank_is_null`` objects (Salesforce) store ``""`` as null, so ``""``, ``None`` and an absent
  field are the same value there.
- Numbers compare by value (``5 == 5.0``); booleans are never numbers (``True != 1``).
- ``date`` / ``datetime`` fields compare the instant, not the text: Salesforce answers
  ``2024-01-01T00:00:00.000+0000`` for ``2024-01-01T00:00:00Z``. Naive times count as UTC;
  precision is the millisecond, as Salesforce stores it.
- ``id`` / ``reference`` fields: a 15-character Salesforce id equals its 18-character form (the
  15-character id is extended with its case checksum, then the two compare case-insensitively).
  Ids of equal length compare exactly.

:func:`comparator` builds the comparison for one target field once, so the planner does no
type dispatch per value.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from fieldline.contracts import FieldDescription, FieldType
from fieldline.values import MISSING

__all__ = ["Comparator", "comparator", "lookup_key", "salesforce_id18", "same_value"]

Comparator = Callable[[Any, Any], bool]
"""``(old, new) -> True`` when writing ``new`` would not change ``old``."""

_EXACT = frozenset({str, int, float, bool})  # same type: plain == is the answer
_ID_SUFFIX_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


def same_value(
    old: Any, new: Any, field: FieldDescription | None = None, *, blank_is_null: bool = False
) -> bool:
    """True when writing ``new`` over ``old`` would not change the target field."""
    return comparator(field, blank_is_null=blank_is_null)(old, new)


def comparator(field: FieldDescription | None, *, blank_is_null: bool = False) -> Comparator:
    """The comparison for one target field (``None``: no description, compare plain values)."""
    field_type = field.type if field is not None else FieldType.OTHER
    if field_type.is_number:
        typed: Comparator = _same_number
    elif field_type is FieldType.DATETIME:
        typed = _same_datetime
    elif field_type is FieldType.DATE:
        typed = _same_date
    elif field_type.is_id:
        typed = _same_id
    else:
        typed = _same_plain
    if not blank_is_null:
        return typed

    def blank_aware(old: Any, new: Any) -> bool:
        old_blank = old is None or old is MISSING or old == ""
        new_blank = new is None or new is MISSING or new == ""
        if old_blank or new_blank:
            return old_blank and new_blank
        return typed(old, new)

    return blank_aware


def lookup_key(value: Any, field: FieldDescription | None = None) -> tuple[str, Any]:
    """``value`` as a key for finding records, by the rules of :func:`same_value`: a boolean is
    never a number (Python's ``True == 1``), numbers match by value, and numeric text matches a
    number field's numbers. For targets that look records up in memory (the files target)."""
    if isinstance(value, bool):
        return ("boolean", value)
    if isinstance(value, int | float):
        return ("number", float(value))
    if isinstance(value, str) and field is not None and field.type.is_number:
        number = _as_number(value)
        if isinstance(number, float):
            return ("number", number)
    return ("value", value)


def _same_plain(old: Any, new: Any) -> bool:
    if old is new:
        return True
    if old.__class__ is new.__class__ and old.__class__ in _EXACT:
        return bool(old == new)
    # Python says True == 1; a CRM checkbox and a number field do not.
    if isinstance(old, bool) or isinstance(new, bool):
        return type(old) is type(new) and bool(old == new)
    return bool(old == new)


_NUMBER_TEXT = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def _as_number(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        if not _NUMBER_TEXT.fullmatch(value):
            return value  # "1_000", " 5", "nan": Python would read them, a CRM would not
        return float(value)
    return value


def _same_number(old: Any, new: Any) -> bool:
    return _same_plain(_as_number(old), _as_number(new))


def _instant(value: Any) -> Any:
    """A comparable instant for a date/datetime text, or the value itself if it is not one."""
    if not isinstance(value, str):
        return value
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return value
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    # the target keeps milliseconds (Salesforce does): finer digits would never compare equal
    return parsed.replace(microsecond=parsed.microsecond // 1000 * 1000)


def _same_datetime(old: Any, new: Any) -> bool:
    return _same_plain(_instant(old), _instant(new))


def _day(value: Any) -> Any:
    instant = _instant(value)
    if isinstance(instant, datetime):
        return instant.astimezone(UTC).date()
    if isinstance(instant, date):
        return instant
    return value


def _same_date(old: Any, new: Any) -> bool:
    return _same_plain(_day(old), _day(new))


def salesforce_id18(id15: str) -> str:
    """The 18-character, case-insensitive form of a 15-character Salesforce id."""
    suffix = ""
    for start in (0, 5, 10):
        bits = 0
        for position, char in enumerate(id15[start : start + 5]):
            if "A" <= char <= "Z":
                bits |= 1 << position
        suffix += _ID_SUFFIX_ALPHABET[bits]
    return id15 + suffix


def _same_id(old: Any, new: Any) -> bool:
    if isinstance(old, str) and isinstance(new, str) and {len(old), len(new)} == {15, 18}:
        short, long = (old, new) if len(old) == 15 else (new, old)
        return salesforce_id18(short).lower() == long.lower()
    return _same_plain(old, new)
