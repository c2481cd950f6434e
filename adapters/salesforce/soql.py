"""SOQL literals and ``WHERE ... IN (...)`` chunking that keeps each query URL short.

A query travels in the URL (``GET /query?q=...``); Salesforce refuses URIs much over 16 KB
(414), and an ``IN`` list is also capped. Chunks are cut on the URL-encoded length.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any
from urllib.parse import quote_plus

from fieldline.contracts import FieldType

__all__ = [
    "MAX_IN_VALUES",
    "MAX_URL_LENGTH",
    "chunk_conditions",
    "in_clause_chunks",
    "like_contains",
    "like_pattern",
    "literal",
    "query_all",
    "quote_string",
]

MAX_URL_LENGTH = 16_000
MAX_IN_VALUES = 2000

_STRING_ESCAPES = {
    "\\": "\\\\",
    "'": "\\'",
    '"': '\\"',
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\b": "\\b",
    "\f": "\\f",
}


_STRING_TABLE = str.maketrans(_STRING_ESCAPES)


def quote_string(value: str) -> str:
    """A SOQL string literal: ``O'Brien`` -> ``'O\\'Brien'``."""
    return "'" + value.translate(_STRING_TABLE) + "'"


def literal(value: Any, field_type: FieldType = FieldType.STRING) -> str:
    """The SOQL literal for ``value`` compared with a field of ``field_type``.

    Numbers and booleans stay bare for numeric/boolean fields; dates use ISO form; everything
    else is a quoted string (a number matched against a text field is quoted, as SOQL requires).
    """
    if value is None:
        return "null"
    if field_type is FieldType.BOOLEAN and isinstance(value, bool):
        return "true" if value else "false"
    if field_type.is_number and isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return str(value)
    if field_type is FieldType.DATETIME and isinstance(value, dt.datetime):
        return value.isoformat().replace("+00:00", "Z")
    if field_type is FieldType.DATE and isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return quote_string("true" if value else "false")
    return quote_string(str(value))


def _like_escaped(text: str) -> str:
    return quote_string(text)[1:-1].replace("%", "\\%").replace("_", "\\_")


def like_contains(value: str) -> str:
    """A ``LIKE`` pattern matching any text that contains ``value`` (``%`` and ``_`` escaped)."""
    return like_pattern(["", value, ""])


def like_pattern(parts: Sequence[str]) -> str:
    """A ``LIKE`` pattern: the literal ``parts`` (``%`` and ``_`` escaped) with ``%`` between them.

    ``["", "1", "5", ""]`` -> ``'%1%5%'``; an empty part only adds its ``%`` (never ``%%``).
    """
    pattern: list[str] = []
    wild = False  # the pattern so far ends with an unescaped %
    for index, part in enumerate(parts):
        if index and not wild:
            pattern.append("%")
            wild = True
        if part:
            pattern.append(_like_escaped(part))
            wild = False
    return "'" + "".join(pattern) + "'"


def _encoded_length(text: str) -> int:
    return len(quote_plus(text))


def chunk_conditions(
    prefix: str,
    items: Sequence[str],
    *,
    joiner: str,
    suffix: str = "",
    base_length: int = 0,
    max_url_length: int = MAX_URL_LENGTH,
    max_items: int = MAX_IN_VALUES,
) -> Iterator[str]:
    """Whole queries ``prefix + joiner.join(chunk) + suffix`` whose URL stays under the limit.

    ``base_length`` is the length of the URL before the encoded query (``https://host/.../query?q=``).
    A single item too long for any URL still gets its own query (Salesforce will say why).
    """
    fixed = base_length + _encoded_length(prefix) + _encoded_length(suffix)
    joiner_length = _encoded_length(joiner)
    chunk: list[str] = []
    length = fixed
    for item in items:
        item_length = _encoded_length(item) + (joiner_length if chunk else 0)
        if chunk and (length + item_length > max_url_length or len(chunk) >= max_items):
            yield prefix + joiner.join(chunk) + suffix
            chunk = []
            length = fixed
            item_length = _encoded_length(item)
        chunk.append(item)
        length += item_length
    if chunk:
        yield prefix + joiner.join(chunk) + suffix


def in_clause_chunks(
    select: str,
    field: str,
    literals: Iterable[str],
    *,
    base_length: int = 0,
    max_url_length: int = MAX_URL_LENGTH,
    max_items: int = MAX_IN_VALUES,
) -> Iterator[str]:
    """``{select} WHERE {field} IN (...)`` queries covering every literal, each URL-short."""
    return chunk_conditions(
        f"{select} WHERE {field} IN (",
        sorted(set(literals)),
        joiner=", ",
        suffix=")",
        base_length=base_length,
        max_url_length=max_url_length,
        max_items=max_items,
    )


def query_all(text: str) -> Callable[[Any], list[Mapping[str, Any]]]:
    """A client call (``SalesforceClient.call``) that runs the SOQL ``text`` and reads every
    page (``queryMore``): the records, without the envelope."""

    def run(sf: Any) -> list[Mapping[str, Any]]:
        records: list[Mapping[str, Any]] = sf.query_all(text)["records"]
        return records

    return run
