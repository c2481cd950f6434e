"""Find existing records for many match keys at once, in as few SOQL queries as possible.

Exact keys become ``WHERE Field IN (...)`` queries chunked by URL length, each key written as a
literal of the field's type (a date field's ``'2024-01-01'`` is sent bare, ``2024-01-01``). A key
with a normalizer (``root_domain`` on ``Website``) cannot be matched exactly in SOQL, so candidates
are fetched with ``LIKE`` patterns that every stored value normalizing to the key matches (built
per normalizer: ``digits`` puts ``%`` between the digits, ``collapse_whitespace`` turns spaces into
``%``, ``root_domain`` adds the ``xn--`` spelling of Unicode labels, ...) and compared after
normalizing the Salesforce side too. A chain with a normalizer this module does not know (a
plugin's) cannot be narrowed: its field is scanned (``WHERE Field != null``, all pages).
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import itertools
import math
import re
import string
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field as dataclass_field
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote_plus

from fieldline.adapters.salesforce import soql
from fieldline.contracts import (
    FieldType,
    LookupRequest,
    LookupResult,
    ObjectDescription,
    TargetRecord,
    field_value,
)

__all__ = ["KeyKind", "LookupQuery", "build_queries", "index_key", "key_kind", "match_records", "same_key"]

LookupKey = tuple[str, str, tuple[str, ...]]
_RECORD_ID = re.compile(r"[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?")


@dataclass(slots=True)
class _Group:
    """Every request for the same (object, field, normalize), merged."""

    object: str
    field: str
    normalize: tuple[str, ...]
    values: set[Any] = dataclass_field(default_factory=set)
    fields: set[str] = dataclass_field(default_factory=set)
    normalizer: Callable[[Any], Any] | None = None
    field_type: FieldType | None = None  # from describe, set by build_queries (None = unknown)


@dataclass(frozen=True, slots=True)
class LookupQuery:
    """One SOQL query and the lookups it serves (several match fields of one object share it)."""

    keys: tuple[LookupKey, ...]
    soql: str


def _merge(requests: Sequence[LookupRequest]) -> dict[LookupKey, _Group]:
    groups: dict[LookupKey, _Group] = {}
    for request in requests:
        key = (request.object, request.field, tuple(request.normalize))
        group = groups.get(key)
        if group is None:
            group = groups[key] = _Group(request.object, request.field, tuple(request.normalize))
        group.values.update(value for value in request.values if value is not None and value != "")
        group.fields.update(request.fields)
        if request.normalizer is not None:
            group.normalizer = request.normalizer
    return groups


def _select(object_name: str, groups: Sequence[_Group], description: ObjectDescription) -> str:
    """The SELECT clause: Id, the match fields and the wanted fields that describe knows."""
    names = ["Id"]
    wanted = {group.field for group in groups} | {name for group in groups for name in group.fields}
    for name in sorted(wanted):
        found = description.field(name)
        if found is not None and found.name not in names:
            names.append(found.name)
    return f"SELECT {', '.join(names)} FROM {description.name or object_name}"


# --- typed keys -------------------------------------------------------------------------------

_INVALID = object()  # a key that cannot be a value of the field: it matches nothing
_MAX_EXPONENT = 40  # number fields hold at most 18 digits


class KeyKind(enum.Enum):
    """How the keys of a field compare (and are written in a query)."""

    ID = "id"
    NUMBER = "number"
    BOOLEAN = "boolean"
    DATE = "date"
    DATETIME = "datetime"
    TEXT = "text"


_QUOTED = (KeyKind.ID, KeyKind.TEXT)  # keys written as quoted strings: the others are typed literals
_BY_TYPE = {
    FieldType.BOOLEAN: KeyKind.BOOLEAN,
    FieldType.DATE: KeyKind.DATE,
    FieldType.DATETIME: KeyKind.DATETIME,
}


def key_kind(field_type: FieldType | None, field_name: str) -> KeyKind:
    if field_type is None:
        return KeyKind.ID if field_name.lower() == "id" else KeyKind.TEXT
    if field_type.is_id:
        return KeyKind.ID
    if field_type.is_number:
        return KeyKind.NUMBER
    return _BY_TYPE.get(field_type, KeyKind.TEXT)


def _coerce(value: Any, kind: KeyKind) -> Any:
    """``value`` as the field's type (``_INVALID`` when it cannot be one): both requested keys and
    the values Salesforce answers with go through this, so they compare alike (5 and ``"5"``)."""
    if kind is KeyKind.ID:
        text = str(value)
        return text[:15] if _RECORD_ID.fullmatch(text) else _INVALID
    if kind is KeyKind.NUMBER:
        return _number(value)
    if kind is KeyKind.BOOLEAN:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        return _INVALID
    if kind is KeyKind.DATE:
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            return value
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value.strip())
            except ValueError:
                return _INVALID
        return _INVALID
    if kind is KeyKind.DATETIME:
        return _datetime(value)
    return value


def _number(value: Any) -> Any:
    if isinstance(value, bool):
        return _INVALID
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        number = Decimal(repr(value)) if math.isfinite(value) else Decimal("NaN")
    elif isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            return _INVALID
    else:
        return _INVALID
    if not number.is_finite() or (number and abs(number.adjusted()) > _MAX_EXPONENT):
        return _INVALID  # no number field holds it (and "1e999999999" must not be written out)
    return number


def _datetime(value: Any) -> Any:
    """An aware UTC datetime; naive text or values are taken as UTC (Salesforce stores UTC)."""
    if isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        elif re.search(r"[+-]\d{4}$", text) and "T" in text:
            text = text[:-2] + ":" + text[-2:]  # Salesforce answers with +0000
        try:
            value = dt.datetime.fromisoformat(text)
        except ValueError:
            return _INVALID
    if not isinstance(value, dt.datetime):
        return _INVALID
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    try:
        return value.astimezone(dt.UTC)
    except OverflowError:
        return _INVALID


def _typed_literal(value: Any, kind: KeyKind) -> str:
    """The bare SOQL literal of a coerced key (number, boolean, date or datetime)."""
    if kind is KeyKind.NUMBER:
        return format(value, "f")
    if kind is KeyKind.BOOLEAN:
        return "true" if value else "false"
    if kind is KeyKind.DATE:
        return str(value.isoformat())
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond // 1000:03d}"
    return f"{text}Z"


# --- LIKE patterns for normalized keys -------------------------------------------------------

# A pattern is the list of its literal parts, with ``%`` between them: ["", "a", "b", ""] is %a%b%.
_Pattern = list[str]
_NOT_ASCII = re.compile(r"[^\x00-\x7f]+")
_MAX_IDN_LABELS = 3  # Unicode labels spelt both ways (2**n patterns); more become %


def _case_step(pattern: _Pattern) -> list[_Pattern]:
    # LIKE ignores case, but which non-ASCII letters it folds is not documented: they become %.
    return [[piece for part in pattern for piece in _NOT_ASCII.split(part)]]


@functools.cache
def _upper_from_non_ascii() -> re.Pattern[str]:
    """ASCII letters that upper-casing a non-ASCII character yields (``ß`` -> ``SS``, ``ﬁ`` -> ``FI``)."""
    letters = {c for i in range(0x80, 0x110000) for c in chr(i).upper() if c.isascii()}
    return re.compile(f"[{''.join(sorted(letters))}]+|{_NOT_ASCII.pattern}")


def _upper_step(pattern: _Pattern) -> list[_Pattern]:
    # As _case_step, and "STRASSE" may be stored as "Straße": those letters become % too.
    return [[piece for part in pattern for piece in _upper_from_non_ascii().split(part)]]


def _collapse_step(pattern: _Pattern) -> list[_Pattern]:
    # Each space of the key stood for a run of white space (any kind: tab, no-break space, ...).
    return [[piece for part in pattern for piece in part.split(" ")]]


def _digits_step(pattern: _Pattern) -> list[_Pattern]:
    # Anything may stand between the kept characters ("+1 (555) 010-9999").
    return [["", *(char for part in pattern for char in part), ""]]


def _trim_step(pattern: _Pattern) -> list[_Pattern]:
    return [pattern]  # every pattern is a "contains" one: leading/trailing space is covered


def _join(left: _Pattern, right: _Pattern) -> _Pattern:
    return [*left[:-1], left[-1] + right[0], *right[1:]]


def _root_domain_step(pattern: _Pattern) -> list[_Pattern]:
    """The stored URL contains the domain, each Unicode label written as is or as ``xn--``."""
    if len(pattern) != 3 or pattern[0] or pattern[2]:
        return [["", ""]]  # already widened by a later step: the labels are not known
    choices: list[list[_Pattern]] = []
    unicode_labels = 0
    for label in pattern[1].split("."):
        if label.isascii():
            choices.append([[label]])
            continue
        unicode_labels += 1
        if unicode_labels > _MAX_IDN_LABELS:
            choices.append([["", ""]])
            continue
        spelt = _NOT_ASCII.split(label)  # non-ASCII letters: see _case_step
        try:
            choices.append([spelt, ["xn--" + label.encode("punycode").decode("ascii")]])
        except UnicodeError:
            choices.append([spelt])
    patterns: list[_Pattern] = []
    for combination in itertools.product(*choices):
        joined: _Pattern = ["", ""]
        for index, label_pattern in enumerate(combination):
            joined = _join(joined, label_pattern if index == 0 else _join(["."], label_pattern))
        patterns.append(_join(joined, ["", ""]))
    return patterns


_LIKE_STEPS: dict[str, Callable[[_Pattern], list[_Pattern]]] = {
    "lower": _case_step,
    "upper": _upper_step,
    "email": _case_step,  # trim + lower
    "trim": _trim_step,
    "collapse_whitespace": _collapse_step,
    "digits": _digits_step,
    "root_domain": _root_domain_step,
}


def like_patterns(key: Any, normalize: Sequence[str]) -> list[str] | None:
    """SOQL ``LIKE`` patterns matched by every text that ``normalize`` (applied in order) turns
    into ``key`` -- a superset, narrowed client-side. ``None`` if a normalizer is not known here."""
    patterns: list[_Pattern] = [["", str(key), ""]]
    for name in reversed(normalize):
        step = _LIKE_STEPS.get(name)
        if step is None:
            return None
        patterns = [widened for pattern in patterns for widened in step(pattern)]
    return sorted({soql.like_pattern(pattern) for pattern in patterns})


# quote_plus leaves these as they are (and turns a space into "+"): every other ASCII
# character becomes three ("%27").
_KEPT_AS_IS = str.maketrans(dict.fromkeys(string.ascii_letters + string.digits + "_.-~ "))


def _encoded(text: str) -> int:
    """``len(quote_plus(text))``, without building it (lookups price every key of a batch)."""
    if not text.isascii():
        return len(quote_plus(text))
    # quote_plus encodes character by character, so encoded lengths add up.
    return len(text) + 2 * len(text.translate(_KEPT_AS_IS))


@dataclass(slots=True)
class _Clause:
    key: LookupKey
    field: str
    like: bool
    items: list[str] = dataclass_field(default_factory=list)

    def text(self) -> str:
        if self.like:
            return " OR ".join(self.items)
        return f"{self.field} IN ({', '.join(self.items)})"


def _object_queries(
    object_name: str,
    groups: Sequence[tuple[LookupKey, _Group]],
    description: ObjectDescription,
    *,
    base_length: int,
    max_url_length: int,
    max_items: int,
) -> list[LookupQuery]:
    """``SELECT ... WHERE A IN (...) OR B IN (...) OR C LIKE ...`` queries covering every value of
    every group of one object, each URL under ``max_url_length`` and ``max_items`` values."""
    prefix = _select(object_name, [group for _, group in groups], description) + " WHERE "
    fixed = base_length + _encoded(prefix)
    queries: list[LookupQuery] = []
    clauses: list[_Clause] = []
    length = fixed
    count = 0

    def flush() -> None:
        nonlocal clauses, length, count
        if clauses:
            text = prefix + " OR ".join(clause.text() for clause in clauses)
            keys = tuple(dict.fromkeys(clause.key for clause in clauses))
            queries.append(LookupQuery(keys, text))
        clauses, length, count = [], fixed, 0

    for key, group in groups:
        match_field = description.field(group.field)
        name = match_field.name if match_field is not None else group.field
        if group.normalize:
            scan = key_kind(group.field_type, group.field) not in _QUOTED  # LIKE is for text fields only
            patterns: set[str] = set()
            for value in () if scan else group.values:
                found = like_patterns(value, group.normalize)
                if found is None:
                    scan = True
                    break
                patterns.update(found)
            if scan:
                # No narrow pattern (a plugin's normalizer, or a non-text field): every record
                # with a value is a candidate, fetched page by page like any answer.
                queries.append(LookupQuery((key,), f"{prefix}{name} != null"))
                continue
            items = sorted(f"{name} LIKE {pattern}" for pattern in patterns)
        else:
            kind = key_kind(group.field_type, group.field)
            if kind in _QUOTED:
                values = group.values
                if kind is KeyKind.ID:
                    # Salesforce refuses the whole query ("invalid ID field") for one malformed
                    # id, and such a value can match nothing anyway.
                    values = {value for value in values if _RECORD_ID.fullmatch(str(value))}
                text_type = group.field_type or FieldType.STRING
                items = sorted({soql.literal(value, text_type) for value in values})
            else:
                # Bare literals of the field's type ('5' on a number field is refused); a key
                # that is no such value cannot match and stays out of the query.
                coerced = (_coerce(value, kind) for value in group.values)
                items = sorted({_typed_literal(value, kind) for value in coerced if value is not _INVALID})
        for item in items:
            while True:
                current = clauses[-1] if clauses and clauses[-1].key == key else None
                if current is not None and not current.like:
                    cost = _encoded(", ") + _encoded(item)
                elif group.normalize:
                    cost = (_encoded(" OR ") if clauses else 0) + _encoded(item)
                else:
                    cost = (_encoded(" OR ") if clauses else 0) + _encoded(f"{name} IN ()") + _encoded(item)
                if count and (length + cost > max_url_length or count >= max_items):
                    flush()
                    continue  # re-price the item as the first of a fresh query
                break
            if current is None:
                current = _Clause(key, name, bool(group.normalize))
                clauses.append(current)
            current.items.append(item)
            length += cost
            count += 1
    flush()
    return queries


def build_queries(
    requests: Sequence[LookupRequest],
    descriptions: Mapping[str, ObjectDescription],
    *,
    base_length: int = 0,
    max_url_length: int = soql.MAX_URL_LENGTH,
    max_items: int = soql.MAX_IN_VALUES,
) -> tuple[list[LookupQuery], dict[LookupKey, _Group]]:
    """The queries that answer ``requests``: per object, every match field's values share
    queries (OR-ed), cut so each URL stays under ``max_url_length``."""
    groups = _merge(requests)
    by_object: dict[str, list[tuple[LookupKey, _Group]]] = {}
    for key, group in groups.items():
        described = descriptions[group.object].field(group.field) if group.object in descriptions else None
        group.field_type = described.type if described is not None else None
        if group.values:
            by_object.setdefault(group.object, []).append((key, group))
    queries: list[LookupQuery] = []
    for object_name, object_groups in by_object.items():
        queries.extend(
            _object_queries(
                object_name,
                object_groups,
                descriptions[object_name],
                base_length=base_length,
                max_url_length=max_url_length,
                max_items=max_items,
            )
        )
    return queries, groups


def same_key(requested: Any, found: Any, kind: KeyKind) -> bool:
    if found is None:
        return False
    if kind is not KeyKind.TEXT:
        # Ids: a 15-character id is the case-sensitive prefix of the 18-character form, and a
        # malformed one matches nothing. Typed fields: "5" on a number field is 5 (and 5.0).
        wanted = _coerce(requested, kind)
        return wanted is not _INVALID and wanted == _coerce(found, kind)
    if isinstance(requested, str) or isinstance(found, str):
        # SOQL's = and IN compare text case-insensitively, so the answer may differ in case.
        return str(requested).casefold() == str(found).casefold()
    return bool(requested == found)  # numbers (5 == 5.0) and booleans


def _clean(record: Mapping[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in record.items() if name != "attributes"}


def match_records(
    groups: Mapping[LookupKey, _Group],
    found: Mapping[LookupKey, Iterable[Mapping[str, Any]]],
) -> LookupResult:
    """Key every fetched record by the requested value it matches, records sorted by ``Id``."""
    result: dict[LookupKey, dict[Any, list[TargetRecord]]] = {}
    for key, group in groups.items():
        by_value: dict[Any, dict[str, TargetRecord]] = {}
        records = [_clean(record) for record in found.get(key, ())]
        if group.normalize:
            for record in records:
                raw = field_value(record, group.field)
                normalized = (
                    group.normalizer(raw) if group.normalizer is not None and raw is not None else raw
                )
                if normalized is not None and normalized in group.values:
                    by_value.setdefault(normalized, {})[str(record["Id"])] = record
        else:
            kind = key_kind(group.field_type, group.field)
            index: dict[Any, list[Any]] = {}
            for value in group.values:
                wanted = index_key(value, kind)
                if wanted is _INVALID:
                    continue  # e.g. a malformed id: it must not match by its valid prefix
                index.setdefault(wanted, []).append(value)
                if kind is KeyKind.TEXT and isinstance(value, (int, float)) and not isinstance(value, bool):
                    # A number matched against a text field comes back as text.
                    index.setdefault(str(value).casefold(), []).append(value)
            for record in records:
                raw = field_value(record, group.field)
                for value in index.get(index_key(raw, kind), ()):
                    if same_key(value, raw, kind):
                        by_value.setdefault(value, {})[str(record["Id"])] = record
        result[key] = {
            value: [matches[record_id] for record_id in sorted(matches)]
            for value, matches in by_value.items()
        }
    return result


def index_key(value: Any, kind: KeyKind) -> Any:
    if value is None:
        return None
    if kind is not KeyKind.TEXT:
        return _coerce(value, kind)
    if isinstance(value, str):
        return value.casefold()
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, (int, float)):
        return float(value)
    return value
