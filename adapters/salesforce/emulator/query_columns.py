"""``query?q=…&columns=true``: the columns a query returns, without running it (``sf data query``).

Shape as the Salesforce CLI reads it (``columnMetadata`` with nested ``joinColumns`` for a
relationship path, and ``aggregate: true`` with ``joinColumns`` for a child subquery).
"""

from __future__ import annotations

from typing import Any

from fieldline.adapters.salesforce.emulator.org import FieldDef
from fieldline.adapters.salesforce.emulator.soql import CompiledQuery

__all__ = ["columns_body"]

_APEX_TYPES = {
    "id": "Id",
    "reference": "Id",
    "boolean": "Boolean",
    "double": "Double",
    "currency": "Decimal",
    "percent": "Double",
    "int": "Integer",
    "date": "Date",
    "datetime": "Datetime",
}
_NUMBER_TYPES = frozenset({"double", "currency", "percent", "int"})


def _column(
    name: str, *, apex_type: str | None, joins: list[dict[str, Any]], **flags: bool
) -> dict[str, Any]:
    return {
        "aggregate": flags.get("aggregate", False),
        "apexType": apex_type,
        "booleanType": apex_type == "Boolean",
        "columnName": name,
        "custom": flags.get("custom", False),
        "displayName": name,
        "foreignKeyName": None,
        "insertable": flags.get("insertable", False),
        "joinColumns": joins,
        "numberType": flags.get("number", False),
        "textType": apex_type == "String",
        "updatable": flags.get("updatable", False),
    }


def _field_column(field: FieldDef) -> dict[str, Any]:
    return _column(
        field.name,
        apex_type=_APEX_TYPES.get(field.type, "String"),
        joins=[],
        custom=field.custom,
        insertable=field.createable,
        updatable=field.updateable,
        number=field.type in _NUMBER_TYPES,
    )


def _add_path(columns: list[dict[str, Any]], names: tuple[str, ...], field: FieldDef) -> None:
    """Put ``Account.Owner.Name`` under the ``Account`` column's ``joinColumns``, once per hop."""
    for hop in names[:-1]:
        found = next((c for c in columns if c["columnName"] == hop and c["joinColumns"] is not None), None)
        if found is None:
            found = _column(hop, apex_type=None, joins=[])
            columns.append(found)
        columns = found["joinColumns"]
    columns.append(_field_column(field))


def _columns(compiled: CompiledQuery) -> list[dict[str, Any]]:
    query = compiled.query
    columns: list[dict[str, Any]] = []
    if any(item.aggregate for item in query.select):
        unnamed = 0
        for item in query.select:
            name = item.alias or f"expr{unnamed}"
            unnamed += item.alias is None
            columns.append(_column(name, apex_type="Integer", joins=[], aggregate=True, number=True))
        return columns
    for path in compiled.select:
        _add_path(columns, path.names, path.field)
    for child in compiled.children:
        columns.append(
            _column(child.relationship, apex_type=None, joins=_columns(child.compiled), aggregate=True)
        )
    return columns


def columns_body(compiled: CompiledQuery) -> dict[str, Any]:
    obj = compiled.table.obj
    return {
        "columnMetadata": _columns(compiled),
        "entityName": obj.name,
        "groupBy": False,
        "idSelected": any(not p.hops and p.field.name == "Id" for p in compiled.select),
        "keyPrefix": obj.key_prefix,
    }
