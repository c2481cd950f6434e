"""``validate --against ADAPTER`` for a spec's lookups: every field they read must exist and be
readable as a plain value (compound address/location and binary fields are not)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fieldline.contracts import FieldType, ObjectDescription
from fieldline.spec.hints import did_you_mean
from fieldline.spec.lookups import LookupSpec, expression_fields, relationship_field

if TYPE_CHECKING:
    from fieldline.spec.against_target import _TargetChecker
    from fieldline.spec.positions import PathKey

__all__ = ["check_lookups_against"]

_NOT_PLAIN = frozenset({FieldType.ADDRESS, FieldType.LOCATION, FieldType.BASE64})


def check_lookups_against(checker: _TargetChecker, adapter_name: str) -> None:
    """Report, located in the spec, each lookup field of ``adapter_name`` the target lacks."""
    for name, lookup in checker.spec.lookups.items():
        if not isinstance(lookup, LookupSpec) or lookup.adapter != adapter_name:
            continue
        path: PathKey = ("lookups", name)
        description = checker.describe(lookup.object, (*path, "object"))
        if description is None:
            continue
        index_path: PathKey = (*path, "index", "field") if lookup.normalize else (*path, "index")
        _check_field(checker, description, lookup.index_field, index_path)
        for spec_field in lookup.fields or ():
            if spec_field.value is None:
                continue
            field_path: PathKey = (*path, "fields", spec_field.name)
            for read in expression_fields(spec_field.value.parsed):
                _check_field(checker, description, read, field_path)


def _check_field(checker: _TargetChecker, description: ObjectDescription, name: str, path: PathKey) -> None:
    head, dot, _ = name.partition(".")
    if dot:
        if relationship_field(description, head) is None:
            checker.report(
                path,
                f"{description.name} has no relationship {head!r} (read as {name!r})",
                hint=f"run 'fieldline describe {description.name}' to list its reference fields",
            )
        return
    found = description.field(name)
    if found is None:
        checker.report(
            path,
            f"{description.name} has no field {name!r}",
            hint=did_you_mean(name, description.fields)
            or f"run 'fieldline describe {description.name}' to list its fields",
        )
    elif found.type in _NOT_PLAIN:
        checker.report(
            path,
            f"{description.name}.{found.name} is a {found.type.value} field, not readable as a value",
            hint="read its parts instead (BillingCity, BillingCountry, ...)",
        )
