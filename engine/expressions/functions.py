"""Extra JMESPath functions: string helpers named like JEP-14, root_domain, coalesce, dates, root().

String functions give ``null`` for a ``null`` subject (source data is full of nulls, and a field
that is absent should stay absent rather than fail the record); any other wrong type is an
:class:`~fieldline.errors.EvaluationError`, as in JMESPath. Every function here is documented,
with tested examples, in ``docs/functions.md``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fieldline.errors import EvaluationError
from fieldline.expressions.compiled import JmespathFunction, current_root
from fieldline.expressions.normalizers import root_domain

__all__ = ["BUILTIN_FUNCTIONS"]

_STRING_OR_NULL = ("string", "null")
# Above this a Unix timestamp is taken to be in milliseconds (1e11 s is the year 5138).
_MILLISECONDS_FROM = 1e11


def _integer(function: str, argument: str, value: Any, *, minimum: int | None = None) -> int:
    """``value`` as an int, or an ``invalid-value`` error naming the argument."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        raise EvaluationError(
            f"{function}() {argument} must be a whole number, got {value!r}",
            reason="invalid-value",
            function=function,
        )
    if minimum is not None and value < minimum:
        raise EvaluationError(
            f"{function}() {argument} must be at least {minimum}, got {value}",
            reason="invalid-value",
            function=function,
        )
    return value


# -- strings (JEP-14) -------------------------------------------------------------------------


def _lower(subject: str | None) -> str | None:
    return None if subject is None else subject.lower()


def _upper(subject: str | None) -> str | None:
    return None if subject is None else subject.upper()


def _trim(subject: str | None, chars: str | None = None) -> str | None:
    # JEP-14: no chars, or '', means white space.
    return None if subject is None else subject.strip(chars or None)


def _trim_left(subject: str | None, chars: str | None = None) -> str | None:
    return None if subject is None else subject.lstrip(chars or None)


def _trim_right(subject: str | None, chars: str | None = None) -> str | None:
    return None if subject is None else subject.rstrip(chars or None)


def _split(subject: str | None, separator: str, count: Any = None) -> list[str] | None:
    if subject is None:
        return None
    limit = -1 if count is None else _integer("split", "count", count, minimum=0)
    if limit == 0:
        return [subject]
    if separator == "":
        # JEP-14: an empty separator splits into characters; the rest stays whole past count.
        if limit < 0 or limit >= len(subject):
            return list(subject)
        return [*subject[:limit], subject[limit:]]
    return subject.split(separator, limit)


def _replace(subject: str | None, old: str, new: str, count: Any = None) -> str | None:
    if subject is None:
        return None
    limit = -1 if count is None else _integer("replace", "count", count, minimum=0)
    return subject.replace(old, new, limit)


def _padding(function: str, width: Any, pad: str | None) -> tuple[int, str]:
    size = _integer(function, "width", width)
    fill = " " if pad is None else pad
    if len(fill) != 1:
        raise EvaluationError(
            f"{function}() pad must be exactly one character, got {fill!r}",
            reason="invalid-value",
            function=function,
        )
    return size, fill


def _pad_left(subject: str | None, width: Any, pad: str | None = None) -> str | None:
    if subject is None:
        return None
    size, fill = _padding("pad_left", width, pad)
    return subject.rjust(size, fill)


def _pad_right(subject: str | None, width: Any, pad: str | None = None) -> str | None:
    if subject is None:
        return None
    size, fill = _padding("pad_right", width, pad)
    return subject.ljust(size, fill)


def _search_window(function: str, subject: str, start: Any, end: Any) -> tuple[int, int]:
    low = 0 if start is None else max(_integer(function, "start", start), 0)
    high = len(subject) if end is None else min(_integer(function, "end", end), len(subject))
    return low, high


def _find_first(subject: str | None, sub: str, start: Any = None, end: Any = None) -> int | None:
    if subject is None or not sub:
        return None
    low, high = _search_window("find_first", subject, start, end)
    index = subject.find(sub, low, high)
    return None if index < 0 else index


def _find_last(subject: str | None, sub: str, start: Any = None, end: Any = None) -> int | None:
    if subject is None or not sub:
        return None
    low, high = _search_window("find_last", subject, start, end)
    index = subject.rfind(sub, low, high)
    return None if index < 0 else index


# -- keys, nulls, documents -----------------------------------------------------------------------


def _coalesce(*values: Any) -> Any:
    for value in values:
        if value is not None:
            return value
    return None


def _root() -> Any:
    return current_root()


# -- dates -------------------------------------------------------------------------------------


def _parse_moment(function: str, value: str | float) -> datetime:
    """An aware UTC datetime from ISO 8601, PassFort's ``2018-01-15 11:39:17`` or a timestamp."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = value / 1000 if abs(value) >= _MILLISECONDS_FROM else value
        try:
            return datetime.fromtimestamp(seconds, tz=UTC)
        except (OverflowError, OSError, ValueError) as exc:
            raise EvaluationError(
                f"{function}() cannot use {value!r} as a Unix timestamp: it is out of range",
                reason="invalid-value",
                function=function,
            ) from exc
    text = str(value).strip()
    try:
        moment = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError as exc:
        raise EvaluationError(
            f"{function}() cannot read {value!r} as a date",
            hint="use ISO 8601 ('2018-01-15T11:39:17Z', '2018-01-15'), "
            "'2018-01-15 11:39:17' or a Unix timestamp number",
            reason="invalid-value",
            function=function,
        ) from exc
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)  # no offset given: the value is taken to be UTC
    return moment.astimezone(UTC)


def _to_datetime(value: str | float | None) -> str | None:
    if value is None:
        return None
    moment = _parse_moment("to_datetime", value).replace(tzinfo=None)
    return moment.isoformat(timespec="milliseconds" if moment.microsecond else "seconds") + "Z"


def _to_date(value: str | float | None) -> str | None:
    if value is None:
        return None
    return _parse_moment("to_date", value).date().isoformat()


def _format_date(value: str | float | None, pattern: str) -> str | None:
    if value is None:
        return None
    return _parse_moment("format_date", value).strftime(pattern)


_DATE_INPUT = ("string", "number", "null")

BUILTIN_FUNCTIONS: tuple[JmespathFunction, ...] = (
    JmespathFunction("lower", _lower, (_STRING_OR_NULL,), doc="Lower-case a string."),
    JmespathFunction("upper", _upper, (_STRING_OR_NULL,), doc="Upper-case a string."),
    JmespathFunction(
        "trim",
        _trim,
        (_STRING_OR_NULL, _STRING_OR_NULL),
        optional=1,
        doc="Strip leading and trailing white space (or the characters in chars).",
    ),
    JmespathFunction(
        "trim_left",
        _trim_left,
        (_STRING_OR_NULL, _STRING_OR_NULL),
        optional=1,
        doc="Strip leading white space (or the characters in chars).",
    ),
    JmespathFunction(
        "trim_right",
        _trim_right,
        (_STRING_OR_NULL, _STRING_OR_NULL),
        optional=1,
        doc="Strip trailing white space (or the characters in chars).",
    ),
    JmespathFunction(
        "split",
        _split,
        (_STRING_OR_NULL, ("string",), ("number",)),
        optional=1,
        doc="Split a string on a separator, at most count times.",
    ),
    JmespathFunction(
        "replace",
        _replace,
        (_STRING_OR_NULL, ("string",), ("string",), ("number",)),
        optional=1,
        doc="Replace occurrences of old with new (at most count of them).",
    ),
    JmespathFunction(
        "pad_left",
        _pad_left,
        (_STRING_OR_NULL, ("number",), ("string",)),
        optional=1,
        doc="Pad a string on the left to width characters.",
    ),
    JmespathFunction(
        "pad_right",
        _pad_right,
        (_STRING_OR_NULL, ("number",), ("string",)),
        optional=1,
        doc="Pad a string on the right to width characters.",
    ),
    JmespathFunction(
        "find_first",
        _find_first,
        (_STRING_OR_NULL, ("string",), ("number",), ("number",)),
        optional=2,
        doc="Index of the first occurrence of sub, or null.",
    ),
    JmespathFunction(
        "find_last",
        _find_last,
        (_STRING_OR_NULL, ("string",), ("number",), ("number",)),
        optional=2,
        doc="Index of the last occurrence of sub, or null.",
    ),
    JmespathFunction(
        "root_domain",
        root_domain,
        (("any",),),
        doc="The registered domain of a URL, e-mail address or host name, or null.",
    ),
    JmespathFunction(
        "coalesce",
        _coalesce,
        (("any",),),
        variadic=True,
        doc="The first argument that is not null (false and '' count as values).",
    ),
    JmespathFunction(
        "to_datetime",
        _to_datetime,
        (_DATE_INPUT,),
        doc="An ISO 8601 UTC timestamp ('2018-01-15T11:39:17Z').",
    ),
    JmespathFunction("to_date", _to_date, (_DATE_INPUT,), doc="An ISO 8601 date ('2018-01-15'), in UTC."),
    JmespathFunction(
        "format_date",
        _format_date,
        (_DATE_INPUT, ("string",)),
        doc="A date formatted with strftime codes, in UTC.",
    ),
    JmespathFunction(
        "root",
        _root,
        (),
        needs_root=True,
        doc="The whole source document, also inside for_each.",
    ),
)
