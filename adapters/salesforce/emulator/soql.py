"""A SOQL subset evaluated over the emulator's store (the parser is in :mod:`.soql_parser`).

Supported::

    SELECT f1, Parent__r.Name, (SELECT f2 FROM Children) | COUNT() | COUNT(f) alias FROM Obj
      [WHERE a = 'x' AND (b IN ('y','z') OR c LIKE '%d\\%%') AND NOT d != null ...]
      [ORDER BY f [ASC|DESC] [NULLS FIRST|LAST], ...] [LIMIT n] [OFFSET n]

Operators ``= != <> < > <= >= IN, NOT IN, LIKE``; literals: strings (with ``\\'``, ``\\\\``, ``\\n``
... escapes; ``\\%`` and ``\\_`` only inside LIKE), numbers, ``true``/``false``, ``null``, dates,
datetimes and the date literals ``TODAY``, ``YESTERDAY``, ``TOMORROW``, ``LAST_N_DAYS:n``,
``NEXT_N_DAYS:n``. Text comparisons are case-insensitive, as in Salesforce.

Errors are :class:`SoqlError` carrying Salesforce's ``errorCode`` (``MALFORMED_QUERY``,
``INVALID_FIELD``, ``INVALID_TYPE``, ...) and a message in Salesforce's caret layout.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from fieldline.adapters.salesforce.emulator.describe import child_relationships
from fieldline.adapters.salesforce.emulator.ids import normalize_id
from fieldline.adapters.salesforce.emulator.org import FieldDef, ObjectDef
from fieldline.adapters.salesforce.emulator.soql_parser import (
    BoolOp,
    Comparison,
    Condition,
    Literal,
    Not,
    Query,
    SoqlError,
    Text,
    caret,
    malformed,
    parse,
)
from fieldline.adapters.salesforce.emulator.store import Record, Store, Table
from fieldline.adapters.salesforce.emulator.validation import parse_datetime

__all__ = [
    "ChildQuery",
    "CompiledQuery",
    "ResolvedPath",
    "SoqlError",
    "compile_query",
    "make_getter",
    "parse",
    "resolve_path",
]


# -- compile against the org ---------------------------------------------------------------------
Getter = Callable[[Record], Any]


@dataclass(frozen=True, slots=True)
class ResolvedPath:
    """A field path resolved against the org: ``hops`` reference fields, then ``field``."""

    hops: tuple[FieldDef, ...]
    field: FieldDef

    @property
    def names(self) -> tuple[str, ...]:
        rels = tuple(h.relationship_name or h.name for h in self.hops)
        return (*rels, self.field.name)


@dataclass(frozen=True, slots=True)
class ChildQuery:
    """A parent-to-child subquery: the child records whose ``field`` holds the parent's id."""

    relationship: str
    field: str
    compiled: CompiledQuery

    def run(self, store: Store, parent_id: str) -> list[Record]:
        return [r for r in self.compiled.run(store) if r.get(self.field) == parent_id]


@dataclass(frozen=True, slots=True)
class CompiledQuery:
    """A query ready to run: which table, which ids to consider, a predicate, order and shape."""

    query: Query
    table: Table
    select: tuple[ResolvedPath, ...]
    predicate: Callable[[Record], bool] | None
    index_probe: tuple[str, tuple[Any, ...]] | None
    sort_keys: tuple[tuple[Getter, bool, bool], ...]
    children: tuple[ChildQuery, ...] = ()

    def run(self, store: Store, *, include_deleted: bool = False) -> list[Record]:
        """Matching records (live, plus deleted ones for ``queryAll``), ordered and limited."""
        table = self.table
        rows: Iterable[Record]
        if self.index_probe is not None and not include_deleted:
            field_name, values = self.index_probe
            ids: set[str] = set()
            for value in values:
                ids.update(table.find(field_name, value))
            rows = [table.rows[i] for i in sorted(ids)]
        else:
            rows = list(table.rows.values())
            if include_deleted:
                rows = [*rows, *table.deleted.values()]
        predicate = self.predicate
        matched = [r for r in rows if predicate(r)] if predicate is not None else list(rows)
        # Stable sorts from the last key to the first give the multi-key order.
        for getter, descending, nulls_first in reversed(self.sort_keys):
            keyed = [(getter(r), r) for r in matched]
            present = [(_sort_value(k), r) for k, r in keyed if k is not None]
            absent = [r for k, r in keyed if k is None]
            present.sort(key=_first, reverse=descending)
            ordered = [r for _, r in present]
            matched = absent + ordered if nulls_first else ordered + absent
        offset = self.query.offset or 0
        end = None if self.query.limit is None else offset + self.query.limit
        return matched[offset:end]


def _first(pair: tuple[Any, Record]) -> Any:
    return pair[0]


def _sort_value(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _no_column(query_text: str, pos: int, name: str, obj: ObjectDef) -> SoqlError:
    return SoqlError(
        "INVALID_FIELD",
        caret(query_text, pos)
        + f"No such column '{name}' on entity '{obj.name}'. If you are attempting to use a custom field,"
        " be sure to append the '__c' after the custom field name. Please reference your WSDL or the"
        " describe call for the appropriate names.",
    )


def resolve_path(store: Store, obj: ObjectDef, path: str, soql: str, pos: int) -> ResolvedPath:
    """Resolve ``Applicant__r.Name`` (or ``Name``) against ``obj``; INVALID_FIELD when unknown."""
    parts = path.split(".")
    if len(parts) > 1 and parts[0].lower() == obj.name.lower():
        parts = parts[1:]  # SELECT Account.Name FROM Account
    hops: list[FieldDef] = []
    current = obj
    for part in parts[:-1]:
        hop = current.relationship(part)
        if hop is None:
            raise SoqlError(
                "INVALID_FIELD",
                caret(soql, pos) + f"Didn't understand relationship '{part}' in field path. If you are"
                " attempting to use a custom relationship, be sure to append the '__r' after the custom"
                " relationship name. Please reference your WSDL or the describe call for the appropriate"
                " names.",
            )
        target = store.org.get(hop.reference_to[0])
        if target is None:
            raise SoqlError("INVALID_FIELD", caret(soql, pos) + f"Unknown relationship target for '{part}'")
        hops.append(hop)
        current = target
    field = current.field(parts[-1])
    if field is None:
        raise _no_column(soql, pos, parts[-1], current)
    return ResolvedPath(tuple(hops), field)


def make_getter(store: Store, path: ResolvedPath) -> Getter:
    """A function reading ``path`` from a record, following references through the store."""
    name = path.field.name
    if not path.hops:
        return lambda record: record.get(name)
    hop_names = [h.name for h in path.hops]

    def follow(record: Record) -> Any:
        current: Record | None = record
        for hop in hop_names:
            assert current is not None
            ref = current.get(hop)
            found = store.get(ref) if ref else None
            if found is None:
                return None
            current = found[1]
        return current.get(name) if current is not None else None

    return follow


def _literal_range(literal: Literal, soql: str) -> tuple[datetime, datetime]:
    """The range a date literal stands for; ``MALFORMED_QUERY`` when it leaves years 1-9999."""
    try:
        return _date_range(*literal.value)
    except OverflowError as exc:
        name, days = literal.value
        raise malformed(soql, literal.pos, f"{name}:{days} is out of the supported date range") from exc


def _date_range(name: str, days: int) -> tuple[datetime, datetime]:
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    one = timedelta(days=1)
    if name == "TODAY":
        return today, today + one
    if name == "YESTERDAY":
        return today - one, today
    if name == "TOMORROW":
        return today + one, today + 2 * one
    if name == "LAST_N_DAYS":
        return today - days * one, today + one
    return today, today + (days + 1) * one  # NEXT_N_DAYS


def _filter_error(field: FieldDef, soql: str, pos: int, expected: str) -> SoqlError:
    return SoqlError(
        "INVALID_QUERY_FILTER_OPERATOR",
        caret(soql, pos)
        + f"value of filter criterion for field '{field.name}' must be of type {expected}"
        + (
            " and should be enclosed in quotes"
            if expected == "string"
            else " and should not be enclosed in quotes"
        ),
    )


def _convert_literal(field: FieldDef, literal: Literal, soql: str) -> Any:
    """The comparable Python value of ``literal`` for ``field`` (or a (start, end) datetime range)."""
    kind = literal.kind
    if kind == "null":
        return None
    ftype = field.type
    if field.is_text or ftype in ("id", "reference"):
        if kind != "string":
            raise _filter_error(field, soql, literal.pos, "string")
        text: Text = literal.value
        if text.like_only:
            raise malformed(soql, literal.pos, "Invalid string literal: \\% and \\_ are only allowed in LIKE")
        value = text.value
        if ftype in ("id", "reference"):
            normalized = normalize_id(value)
            if normalized is None:
                # Salesforce refuses the whole query for one malformed id literal.
                raise SoqlError(
                    "INVALID_QUERY_FILTER_OPERATOR", caret(soql, literal.pos) + f"invalid ID field: {value}"
                )
            value = normalized
        return value.lower()
    if ftype == "boolean":
        if kind != "boolean":
            raise _filter_error(field, soql, literal.pos, "boolean")
        return literal.value
    if ftype in ("double", "currency", "percent", "int"):
        if kind != "number":
            raise _filter_error(field, soql, literal.pos, "number")
        return literal.value
    if ftype == "date":
        if kind == "date":
            return literal.value
        if kind == "dateliteral":
            start, end = _literal_range(literal, soql)
            return (start.date(), end.date())
        raise _filter_error(field, soql, literal.pos, "date")
    if ftype == "datetime":
        if kind == "datetime":
            return literal.value
        if kind == "date":
            return datetime.combine(literal.value, datetime.min.time(), UTC)
        if kind == "dateliteral":
            return _literal_range(literal, soql)
        raise _filter_error(field, soql, literal.pos, "datetime")
    raise _filter_error(field, soql, literal.pos, ftype)


def _normalizer(field: FieldDef) -> Callable[[Any], Any]:
    """Turn a stored value into the form literals were converted to."""
    if field.is_text or field.type in ("id", "reference"):
        return lambda v: v.lower() if isinstance(v, str) else v
    if field.type == "date":
        return lambda v: date.fromisoformat(v) if isinstance(v, str) else v
    if field.type == "datetime":
        return lambda v: parse_datetime(v) if isinstance(v, str) else v
    return lambda v: v


# Against a date range: "<" is before the start, "<=" before the end,
# ">" at/after the end, ">=" at/after the start.
_ORDERING: dict[str, Callable[[Any, Any], Any]] = {
    "<": operator.lt,
    "<=": operator.lt,
    ">": operator.ge,
    ">=": operator.ge,
}
_PLAIN_ORDERING: dict[str, Callable[[Any, Any], Any]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def _compare(op: str, left: Any, right: Any) -> bool:
    if isinstance(right, tuple):  # a date literal range [start, end)
        start, end = right
        if left is None:
            return op == "!="
        inside = bool(start <= left < end)
        if op in ("=", "!="):
            return inside == (op == "=")
        return bool(_ORDERING[op](left, start if op in ("<", ">=") else end))
    if op == "=":
        return bool(left == right)
    if op == "!=":
        return bool(left != right)
    if left is None or right is None:
        return False
    try:
        return bool(_PLAIN_ORDERING[op](left, right))
    except TypeError:
        return False


def _compile_condition(store: Store, obj: ObjectDef, cond: Condition, soql: str) -> Callable[[Record], bool]:
    if isinstance(cond, BoolOp):
        parts = [_compile_condition(store, obj, c, soql) for c in cond.items]
        if cond.op == "AND":
            return lambda r: all(p(r) for p in parts)
        return lambda r: any(p(r) for p in parts)
    if isinstance(cond, Not):
        inner = _compile_condition(store, obj, cond.item, soql)
        return lambda r: not inner(r)
    resolved = resolve_path(store, obj, cond.path, soql, cond.pos)
    field = resolved.field
    raw_get = make_getter(store, resolved)
    norm = _normalizer(field)

    def get(record: Record) -> Any:
        return norm(raw_get(record))

    op = cond.op
    if op == "LIKE":
        literal = cond.value
        assert isinstance(literal, Literal)
        if not (field.is_text or field.type in ("id", "reference")):
            raise _filter_error(field, soql, literal.pos, "string")
        regex = re.compile(literal.value.pattern, re.IGNORECASE | re.DOTALL)

        def like(record: Record) -> bool:
            value = raw_get(record)
            return value is not None and regex.fullmatch(str(value)) is not None

        return like
    if op in ("IN", "NOT IN"):
        assert isinstance(cond.value, tuple)
        values = [_convert_literal(field, lit, soql) for lit in cond.value]
        if any(isinstance(v, tuple) for v in values):
            raise malformed(soql, cond.pos, "date literal ranges are not allowed in IN")
        members = set(values)
        if op == "IN":
            return lambda r: get(r) in members
        return lambda r: get(r) not in members
    assert isinstance(cond.value, Literal)
    right = _convert_literal(field, cond.value, soql)
    if right is None and op not in ("=", "!="):
        raise malformed(soql, cond.value.pos, f"invalid operator on null: {op}")
    return lambda r: _compare(op, get(r), right)


def _index_probe(obj: ObjectDef, cond: Condition | None, soql: str) -> tuple[str, tuple[Any, ...]] | None:
    """An indexed ``f = v`` / ``f IN (...)`` that every match must satisfy, to avoid a scan."""
    if cond is None:
        return None
    candidates = cond.items if isinstance(cond, BoolOp) and cond.op == "AND" else (cond,)
    for item in candidates:
        if not isinstance(item, Comparison) or item.op not in ("=", "IN") or "." in item.path:
            continue
        field = obj.field(item.path)
        if field is None or not field.indexed:
            continue
        literals = item.value if isinstance(item.value, tuple) else (item.value,)
        if not all(lit.kind == "string" for lit in literals):
            continue
        return field.name, tuple(lit.value.value for lit in literals)
    return None


def compile_query(store: Store, soql: str) -> CompiledQuery:
    """Parse ``soql`` and resolve it against the store's org."""
    query = parse(soql)
    return _compile(store, query, soql.strip(), store.table(query.object_name))


def _child_query(store: Store, parent: ObjectDef, query: Query, text: str, pos: int) -> ChildQuery:
    for relationship in child_relationships(store.org, parent):
        if relationship["relationshipName"].lower() == query.object_name.lower():
            table = store.table(relationship["childSObject"])
            compiled = _compile(store, query, text, table)
            return ChildQuery(relationship["relationshipName"], relationship["field"], compiled)
    raise SoqlError(
        "INVALID_TYPE",
        caret(text, pos) + f"Didn't understand relationship '{query.object_name}' in FROM part of query"
        " call. If you are attempting to use a custom relationship, be sure to append the '__r' after"
        " the custom relationship name. Please reference your WSDL or the describe call for the"
        " appropriate names.",
    )


def _compile(store: Store, query: Query, text: str, table: Table | None) -> CompiledQuery:
    if table is None:
        raise SoqlError(
            "INVALID_TYPE",
            caret(text, query.object_pos) + f"sObject type '{query.object_name}' is not supported. If you are"
            " attempting to use a custom object, be sure to append the '__c' after the entity name. Please"
            " reference your WSDL or the describe call for the appropriate names.",
        )
    obj = table.obj
    fields = [item for item in query.select if item.subquery is None]
    select = tuple(resolve_path(store, obj, item.path, text, item.pos) for item in fields)
    children = tuple(
        _child_query(store, obj, item.subquery, text, item.pos)
        for item in query.select
        if item.subquery is not None
    )
    predicate = _compile_condition(store, obj, query.where, text) if query.where is not None else None
    sort_keys = []
    for key in query.order:
        resolved = resolve_path(store, obj, key.path, text, key.pos)
        getter = make_getter(store, resolved)
        norm = _normalizer(resolved.field)
        sort_keys.append(((lambda r, g=getter, n=norm: n(g(r))), key.descending, key.nulls_first))
    return CompiledQuery(
        query=query,
        table=table,
        select=select,
        predicate=predicate,
        index_probe=_index_probe(obj, query.where, text),
        sort_keys=tuple(sort_keys),
        children=children,
    )
