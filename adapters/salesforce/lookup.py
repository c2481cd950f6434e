"""Find existing records for many match keys at once, in as few SOQL queries as possible.

Exact keys become ``WHERE Field IN (...)`` queries chunked by URL length. A key with a
normalizer (``root_domain`` on ``Website``) cannot be matched exactly in SOQL, so candidates are
fetched narrowly with ``Field LIKE '%value%'`` (OR-ed, chunked) and compared after normalizing
the Salesforce side too.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any
from urllib.parse import quote_plus

from fieldline.adapters.salesforce import soql
from fieldline.contracts import LookupRequest, LookupResult, ObjectDescription, TargetRecord

__all__ = ["LookupQuery", "build_queries", "match_records"]

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


def _encoded(text: str) -> int:
    # quote_plus encodes character by character, so encoded lengths add up.
    return len(quote_plus(text))


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
            items = sorted({f"{name} LIKE {soql.like_contains(str(value))}" for value in group.values})
        else:
            field_type = match_field.type if match_field is not None else "string"
            values = group.values
            if field_type in ("id", "reference"):
                # Salesforce refuses the whole query ("invalid ID field") for one malformed id,
                # and such a value can match nothing anyway.
                values = {value for value in values if _RECORD_ID.fullmatch(str(value))}
            items = sorted({soql.literal(value, field_type) for value in values})
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


def _same(requested: Any, found: Any, field_name: str) -> bool:
    if found is None:
        return False
    if field_name.lower() == "id":
        # 15-character ids are the case-sensitive prefix of the 18-character form.
        return str(requested)[:15] == str(found)[:15]
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
                raw = _field_value(record, group.field)
                normalized = (
                    group.normalizer(raw) if group.normalizer is not None and raw is not None else raw
                )
                if normalized is not None and normalized in group.values:
                    by_value.setdefault(normalized, {})[str(record["Id"])] = record
        else:
            index: dict[Any, list[Any]] = {}
            for value in group.values:
                index.setdefault(_index_key(value, group.field), []).append(value)
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    # A number matched against a text field comes back as text.
                    index.setdefault(str(value).casefold(), []).append(value)
            for record in records:
                raw = _field_value(record, group.field)
                for value in index.get(_index_key(raw, group.field), ()):
                    if _same(value, raw, group.field):
                        by_value.setdefault(value, {})[str(record["Id"])] = record
        result[key] = {
            value: [matches[record_id] for record_id in sorted(matches)]
            for value, matches in by_value.items()
        }
    return result


def _index_key(value: Any, field_name: str) -> Any:
    if value is None:
        return None
    if field_name.lower() == "id":
        return str(value)[:15]
    if isinstance(value, str):
        return value.casefold()
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, (int, float)):
        return float(value)
    return value


def _field_value(record: Mapping[str, Any], name: str) -> Any:
    if name in record:
        return record[name]
    lowered = name.lower()
    for candidate, value in record.items():
        if candidate.lower() == lowered:
            return value
    return None
