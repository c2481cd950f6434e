"""Server-side validation of a record body, with Salesforce's error codes and messages.

:func:`prepare` turns a JSON (or CSV) body into canonical field names and stored values, or into
the list of :class:`ApiError` Salesforce would answer with. It never writes.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

from fieldline.adapters.salesforce.emulator.ids import normalize_id
from fieldline.adapters.salesforce.emulator.org import FieldDef, ObjectDef
from fieldline.adapters.salesforce.emulator.store import Record, Store, Table, index_key

__all__ = ["ApiError", "coerce", "format_datetime", "parse_datetime", "prepare", "unique_conflicts"]


@dataclass(frozen=True, slots=True)
class ApiError:
    """One error as Salesforce reports it (``errorCode`` top-level, ``statusCode`` per record)."""

    code: str
    message: str
    fields: tuple[str, ...] = ()

    def top_level(self) -> dict[str, Any]:
        return {"message": self.message, "errorCode": self.code, "fields": list(self.fields)}

    def per_record(self) -> dict[str, Any]:
        return {"statusCode": self.code, "message": self.message, "fields": list(self.fields)}


TYPE_ERROR = "INVALID_TYPE_ON_FIELD_IN_RECORD"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class _BadValue(Exception):
    pass


def format_datetime(moment: datetime) -> str:
    """A datetime the way Salesforce writes it (UTC, milliseconds, ``+0000``)."""
    moment = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def parse_datetime(text: str) -> datetime:
    """Parse an ISO 8601 datetime (``Z``, ``+0000`` or ``+00:00``; a bare date is midnight UTC).

    The result is in UTC; ``ValueError`` also when that falls outside years 1-9999
    (``9999-12-31T23:59:59-01:00``).
    """
    if _DATE.match(text):
        return datetime.fromisoformat(text).replace(tzinfo=UTC)
    cleaned = text.strip()
    if cleaned.endswith(("Z", "z")):
        cleaned = cleaned[:-1] + "+00:00"
    elif re.search(r"[+-]\d{4}$", cleaned):
        cleaned = cleaned[:-2] + ":" + cleaned[-2:]
    moment = datetime.fromisoformat(cleaned)
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError(f"datetime out of range in UTC: {text}") from exc


@lru_cache(maxsize=4096)
def _normalize_datetime(text: str) -> str | None:
    """``text`` in Salesforce's stored form, or ``None`` if it is no datetime (cached: bulk rows repeat)."""
    try:
        return format_datetime(parse_datetime(text))
    except ValueError:
        return None


def coerce(field: FieldDef, value: Any) -> Any:
    """The stored form of ``value`` for ``field``; raises ``_BadValue`` when the type is wrong."""
    if value is None:
        return False if field.type == "boolean" else None
    kind = field.type
    if field.is_stringlike:
        if type(value) is str:  # the common case first
            return value if value != "" else None
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            return str(value)
        if not isinstance(value, str):
            raise _BadValue
        return value if value != "" else None
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise _BadValue
    if kind in ("double", "currency", "percent", "int"):
        if isinstance(value, bool):
            raise _BadValue
        if isinstance(value, str):
            if value == "":
                return None
            try:
                value = float(value) if kind != "int" or "." in value else int(value)
            except ValueError as exc:
                raise _BadValue from exc
        if not isinstance(value, int | float) or not math.isfinite(value):
            raise _BadValue  # NaN and infinities have no JSON form and no Salesforce value
        if kind == "int":
            if isinstance(value, float) and not value.is_integer():
                raise _BadValue
            return int(value)
        return value
    if kind == "date":
        if not isinstance(value, str):
            raise _BadValue
        if value == "":
            return None
        try:
            return date.fromisoformat(value[:10]).isoformat() if _DATE.match(value[:10]) else _fail()
        except ValueError as exc:
            raise _BadValue from exc
    if kind == "datetime":
        if not isinstance(value, str):
            raise _BadValue
        if value == "":
            return None
        normalized = _normalize_datetime(value)
        if normalized is None:
            raise _BadValue
        return normalized
    raise _BadValue


def _fail() -> Any:
    raise _BadValue


def _label(field: FieldDef) -> str:
    return field.label or field.name


@dataclass(frozen=True, slots=True)
class _Plan:
    """Per-object facts ``prepare`` needs on every record, computed once."""

    defaults: tuple[tuple[str, Any], ...]
    required: tuple[str, ...]


_PLANS: dict[int, tuple[ObjectDef, _Plan]] = {}


def _plan(obj: ObjectDef) -> _Plan:
    cached = _PLANS.get(id(obj))
    if cached is not None and cached[0] is obj:
        return cached[1]
    defaults = []
    for field in obj.fields.values():
        if not field.createable:
            continue
        if field.defaulted_on_create and field.default_value is not None:
            defaults.append((field.name, field.default_value))
        elif field.type == "boolean":
            defaults.append((field.name, bool(field.default_value)))
    required = tuple(f.name for f in obj.fields.values() if f.required and f.createable)
    plan = _Plan(tuple(defaults), required)
    _PLANS[id(obj)] = (obj, plan)
    return plan


def _read_only(field: FieldDef) -> ApiError:
    return ApiError(
        "INVALID_FIELD_FOR_INSERT_UPDATE",
        f"Unable to create/update fields: {field.name}. Please check the security settings"
        " of this field and verify that it is read/write for your profile or permission set.",
        (field.name,),
    )


def _resolve_parent(
    store: Store, relation: FieldDef, raw: Mapping[str, Any]
) -> tuple[str | None, ApiError | None]:
    """The parent id named by ``{"Ext__c": value}`` in ``"Parent__r": {...}`` (a lookup by external id)."""
    parent = store.table(relation.reference_to[0])
    keys = [k for k in raw if k.lower() != "attributes"]
    if parent is None or len(keys) != 1:
        return None, ApiError(
            "INVALID_FIELD",
            f"Foreign key external ID for {relation.relationship_name} must name exactly one field",
        )
    lookup = parent.obj.field(keys[0])
    if lookup is None or not (lookup.external_id or lookup.id_lookup):
        return None, ApiError(
            "INVALID_FIELD", f"Field {keys[0]} is not an external id or indexed field on {parent.obj.name}"
        )
    value = raw[keys[0]]
    ids = parent.find(lookup.name, str(value)) if value not in (None, "") else []
    if len(ids) != 1:
        problem = "not found" if not ids else "matched more than one record"
        return None, ApiError(
            "INVALID_FIELD",
            f"Foreign key external ID: {value} {problem} for field {lookup.name} in entity {parent.obj.name}",
        )
    return ids[0], None


def prepare(
    store: Store,
    table: Table,
    body: Mapping[str, Any],
    *,
    existing: Record | None = None,
    ignore: frozenset[str] = frozenset(),
) -> tuple[Record, list[ApiError]]:
    """Validate ``body`` for a create (``existing`` is None) or an update of ``existing``.

    Returns the values to store (canonical names) and the errors; errors mean nothing may be written.
    ``ignore`` holds lower-case keys to skip (``attributes``, the ``Id`` of an update).
    """
    obj = table.obj
    creating = existing is None
    values: Record = {}
    for key, raw in body.items():
        lowered = key.lower()
        if lowered == "attributes" or lowered in ignore:
            continue
        field = obj.fields.get(lowered)
        if field is None and isinstance(raw, Mapping):
            relation = obj.relationship(key)
            if relation is not None:
                parent_id, error = _resolve_parent(store, relation, raw)
                if error is not None:
                    return values, [error]
                if (creating and not relation.createable) or (not creating and not relation.updateable):
                    return values, [_read_only(relation)]
                values[relation.name] = parent_id
                continue
        if field is None:
            return values, [
                ApiError("INVALID_FIELD", f"No such column '{key}' on sobject of type {obj.name}", ())
            ]
        if creating and lowered == "id":
            return values, [
                ApiError("INVALID_FIELD_FOR_INSERT_UPDATE", "cannot specify Id in an insert call", ("Id",))
            ]
        if (creating and not field.createable) or (not creating and not field.updateable):
            if (
                not creating
                and lowered == "id"
                and existing is not None
                and normalize_id(raw) == existing["Id"]
            ):
                continue
            return values, [_read_only(field)]
        try:
            values[field.name] = coerce(field, raw)
        except _BadValue:
            return values, [
                ApiError(TYPE_ERROR, f"{_label(field)}: value not of required type: {raw}", (field.name,))
            ]
    errors = _check_values(store, obj, values)
    if errors:
        return values, errors
    plan = _plan(obj)
    if creating:
        for name, default in plan.defaults:
            if values.get(name) is None:
                values[name] = default
    missing = [
        name for name in plan.required if (values.get(name) is None if creating or name in values else False)
    ]
    if missing:
        return values, [
            ApiError(
                "REQUIRED_FIELD_MISSING",
                f"Required fields are missing: [{', '.join(missing)}]",
                tuple(missing),
            )
        ]
    conflict = unique_conflicts(table, values, None if existing is None else existing["Id"])
    return values, [conflict] if conflict else []


def _check_values(store: Store, obj: ObjectDef, values: Record) -> list[ApiError]:
    for name, value in values.items():
        if value is None:
            continue
        field = obj.fields[name.lower()]
        if field.is_text and field.length and len(value) > field.length:
            return [
                ApiError(
                    "STRING_TOO_LONG",
                    f"{_label(field)}: data value too large: {value} (max length={field.length})",
                    (field.name,),
                )
            ]
        if field.type == "email" and not _EMAIL.match(value):
            return [
                ApiError(
                    "INVALID_EMAIL_ADDRESS", f"{_label(field)}: invalid email address: {value}", (field.name,)
                )
            ]
        if field.restricted and field.type in ("picklist", "multipicklist"):
            # a multi-select value is "A;B;C": every selected value must be in the list
            chosen = value.split(";") if field.type == "multipicklist" else [value]
            bad = next((v for v in chosen if v not in field.picklist), None)
            if bad is not None:
                return [
                    ApiError(
                        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                        f"{_label(field)}: bad value for restricted picklist field: {bad}",
                        (field.name,),
                    )
                ]
        if field.type == "reference":
            canonical = normalize_id(value)
            if canonical is None:
                return [
                    ApiError(
                        "MALFORMED_ID", f"{_label(field)}: id value of incorrect type: {value}", (field.name,)
                    )
                ]
            found = store.get(canonical)
            if found is None or found[0].obj.name not in field.reference_to:
                return [ApiError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", (field.name,))]
            values[name] = canonical
    return []


def missing_record(table: Table, record_id: str) -> ApiError:
    """Why a write to ``record_id``, which ``table`` does not hold live, fails."""
    if record_id in table.deleted:
        return ApiError("ENTITY_IS_DELETED", "entity is deleted")
    return ApiError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")


def unique_conflicts(table: Table, values: Record, own_id: str | None) -> ApiError | None:
    """A ``DUPLICATE_VALUE`` error when a unique or external-id value is already taken."""
    for lowered in table.indexes:
        field = table.obj.fields[lowered]
        if not field.unique:
            continue
        value = values.get(field.name)
        if value is None:
            continue
        taken = table.indexes[lowered].get(index_key(value))
        others = sorted(i for i in taken if i != own_id) if taken else None
        if others:
            return ApiError(
                "DUPLICATE_VALUE",
                f"duplicate value found: {field.name} duplicates value on record with id: {others[0]}",
                (),
            )
    return None
