"""``validate --against ADAPTER``: check a loaded spec against what the target describes.

For each record's object (``TargetAdapter.describe``), reports, located in the spec:

- an unknown object, or an unknown field (with the closest name, compared case-insensitively as
  Salesforce does);
- a field that is not createable on a record that may create, or not updateable on one that
  may update;
- ``const``, ``map``, ``unmapped`` and ``default`` values the field cannot hold: not in a
  restricted picklist, longer than ``length``, or of the wrong type (a number into a boolean);
- a ``ref`` field whose ``reference_to`` does not include the referenced record's object;
- required fields not mapped on a record that may create.

Connection problems are not spec problems: they propagate as
:class:`~fieldline.errors.AdapterError` so the command can exit with status 2.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from fieldline.contracts import FieldDescription, FieldType, ObjectDescription, TargetAdapter
from fieldline.errors import BudgetExhaustedError, FatalAdapterError, Problem
from fieldline.spec.collector import ProblemCollector
from fieldline.spec.hints import did_you_mean
from fieldline.spec.lookups_against import check_lookups_against
from fieldline.spec.model import FieldSpec, Mode, RecordSpec, Spec, Strategy
from fieldline.spec.positions import PathKey, PositionIndex
from fieldline.values import MISSING

__all__ = ["check_against_target"]

_CREATING = (Mode.UPSERT, Mode.CREATE_ONLY)
_UPDATING = (Mode.UPSERT, Mode.UPDATE_ONLY)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")
_NOT_FOUND_CODES = {"NOT_FOUND", "INVALID_TYPE", "NOT_FOUND_OBJECT", "UNKNOWN_OBJECT"}


def check_against_target(
    spec: Spec, target: TargetAdapter, positions: PositionIndex, *, file: str | None = None
) -> list[Problem]:
    """Every problem of ``spec`` against ``target``'s object descriptions.

    Raises :class:`~fieldline.errors.AdapterError` when the target cannot be reached (not a
    problem of the spec).
    """
    problems = _TargetChecker(spec, target, positions, file).check()
    return sorted(problems, key=lambda problem: (problem.line or 0, problem.col or 0))


class _TargetChecker(ProblemCollector):
    def __init__(self, spec: Spec, target: TargetAdapter, positions: PositionIndex, file: str | None) -> None:
        super().__init__(positions, file=file if file is not None else spec.file, code="target")
        self.spec = spec
        self.target = target
        self.descriptions: dict[str, ObjectDescription | None] = {}

    def check(self) -> list[Problem]:
        adapter_name = str(getattr(self.target, "name", ""))
        if _lookups_only(self.spec, adapter_name):
            check_lookups_against(self, adapter_name)
            return self.problems
        for index, record in enumerate(self.spec.records):
            path: PathKey = ("records", index)
            description = self.describe(record.object, (*path, "object"))
            if description is not None:
                self.check_record(record, description, path)
        check_lookups_against(self, adapter_name)
        return self.problems

    def describe(self, object_name: str, path: PathKey) -> ObjectDescription | None:
        if object_name in self.descriptions:
            description = self.descriptions[object_name]
            if description is None:
                self.report(path, f"unknown object {object_name!r}")
            return description
        try:
            description = self.target.describe(object_name)
        except BudgetExhaustedError:
            raise
        except FatalAdapterError as exc:
            if not _means_unknown_object(exc):
                raise
            self.descriptions[object_name] = None
            suggestion = exc.context.get("suggestion")
            self.report(
                path,
                f"unknown object {object_name!r}",
                hint=str(suggestion) if suggestion else f"the target says: {exc.message}",
            )
            return None
        self.descriptions[object_name] = description
        return description

    def check_record(self, record: RecordSpec, description: ObjectDescription, path: PathKey) -> None:
        can_create = record.mode in _CREATING
        can_update = record.mode in _UPDATING
        mapped: set[str] = set()
        for spec_field in record.fields:
            field_path: PathKey = (*path, "fields", spec_field.name)
            found = description.field(spec_field.name)
            if found is None:
                suggestion = did_you_mean(spec_field.name, description.fields)
                self.report(
                    field_path,
                    f"{description.name} has no field {spec_field.name!r}",
                    hint=suggestion or f"run 'fieldline describe {description.name}' to list its fields",
                    at_key=True,
                )
                continue
            mapped.add(found.name)  # as described: description.field() resolved the case
            self.check_writable(
                spec_field, found, description, field_path, can_create=can_create, can_update=can_update
            )
            self.check_values(spec_field, found, field_path)
            if spec_field.ref is not None:
                self.check_reference(spec_field, found, field_path)
        if can_create:
            self.check_required(record, description, path, mapped)

    def check_writable(
        self,
        spec_field: FieldSpec,
        found: FieldDescription,
        description: ObjectDescription,
        path: PathKey,
        *,
        can_create: bool,
        can_update: bool,
    ) -> None:
        where = f"{description.name}.{found.name}"
        if can_create and not found.createable:
            self.report(
                path,
                f"{where} is not createable, but this record may be created",
                hint="remove the field, or set the record's mode to update_only",
                at_key=True,
            )
        if can_update and not found.updateable and spec_field.strategy is not Strategy.ON_CREATE:
            self.report(
                path,
                f"{where} is not updateable, but this record may be updated",
                hint="write it only on create (strategy: on_create), or set mode: create_only",
                at_key=True,
            )

    def check_values(self, spec_field: FieldSpec, found: FieldDescription, path: PathKey) -> None:
        for value_path, value in _literal_values(spec_field, path):
            message = _value_problem(value, found)
            if message is not None:
                hint = None
                if found.picklist_values and isinstance(value, str):
                    hint = did_you_mean(value, found.picklist_values, ignore_case=False)
                    hint = hint or f"allowed: {', '.join(found.picklist_values)}"
                self.report(value_path, message, hint=hint)

    def check_reference(self, spec_field: FieldSpec, found: FieldDescription, path: PathKey) -> None:
        parent = self.spec.record_named(spec_field.ref or "")
        if parent is None or not found.reference_to:
            # Unknown refs are the loader's business; a field that references nothing in
            # particular (text holding an id, a free-form files target) may take any id.
            return
        allowed = {name.casefold() for name in found.reference_to}
        if parent.object.casefold() in allowed:
            return
        self.report(
            (*path, "ref"),
            f"{found.name} references {', '.join(found.reference_to)}, not {parent.object} "
            f"(the object of record {parent.name!r})",
            hint="ref a record of the referenced object",
        )

    def check_required(
        self, record: RecordSpec, description: ObjectDescription, path: PathKey, mapped: set[str]
    ) -> None:
        for name, found in sorted(description.fields.items()):
            if found.required and found.createable and found.name not in mapped:
                self.report(
                    (*path, "fields"),
                    f"{description.name} requires {name!r} on create, "
                    f"but record {record.name!r} does not map it",
                    hint="map it under fields, or set mode: update_only",
                    at_key=True,
                )


def _lookups_only(spec: Spec, adapter_name: str) -> bool:
    """The spec writes to another target and only its lookups use this adapter (a Salesforce
    export to files, with lookups answered by Salesforce): only the lookups are checked."""
    writes_elsewhere = spec.target is not None and spec.target.adapter != adapter_name
    return writes_elsewhere and any(
        getattr(lookup, "adapter", None) == adapter_name for lookup in spec.lookups.values()
    )


def _means_unknown_object(exc: FatalAdapterError) -> bool:
    """Whether a describe failure says "no such object" (a spec problem) rather than "cannot
    connect" (an environment problem)."""
    context = exc.context
    if context.get("status") == 404 or str(context.get("code", "")).upper() in _NOT_FOUND_CODES:
        return True
    text = exc.message.lower()
    return any(
        marker in text
        for marker in ("unknown object", "not found", "no such object", "has no object", "does not exist")
    )


def _literal_values(spec_field: FieldSpec, path: PathKey) -> Iterator[tuple[PathKey, Any]]:
    """The values the spec writes literally, each with the path of where it stands."""
    if spec_field.const is not MISSING and spec_field.const is not None:
        yield (*path, "const"), spec_field.const
    if spec_field.default is not MISSING and spec_field.default is not None:
        yield (*path, "default"), spec_field.default
    if spec_field.map is not None:
        for key, value in spec_field.map.items():
            if value is not None:
                yield (*path, "map", key), value
    if spec_field.unmapped_value is not MISSING and spec_field.unmapped_value is not None:
        yield (*path, "unmapped", "const"), spec_field.unmapped_value


def _value_problem(value: Any, found: FieldDescription) -> str | None:
    """Why ``value`` cannot be written into ``found``, or ``None`` when it can."""
    kind = found.type
    shown = json.dumps(value, default=str)
    if kind is FieldType.MULTIPICKLIST and isinstance(value, list):
        value = ";".join(str(part) for part in value)  # sent joined, as the adapter does
    if isinstance(value, dict | list):
        return f"{found.name} ({kind}) cannot hold a {'mapping' if isinstance(value, dict) else 'list'}"
    if kind is FieldType.BOOLEAN and not isinstance(value, bool):
        return f"{found.name} is a boolean field; {shown} is not true or false"
    if kind.is_number and (isinstance(value, bool) or not isinstance(value, int | float)):
        article = "an" if kind[:1] in "aeiou" else "a"
        return f"{found.name} is {article} {kind} field; {shown} is not a number"
    if kind is FieldType.DATE and not (isinstance(value, str) and _DATE.match(value)):
        return f"{found.name} is a date field; {shown} is not a YYYY-MM-DD date"
    if kind is FieldType.DATETIME and not (isinstance(value, str) and _DATETIME.match(value)):
        return f"{found.name} is a datetime field; {shown} is not an ISO-8601 date-time"
    if kind.is_text and isinstance(value, bool):
        return f"{found.name} is a {kind} field; {shown} is a boolean, not text"
    text = value if isinstance(value, str) else shown
    choices = text.split(";") if kind is FieldType.MULTIPICKLIST else [text]  # 'A;C': several values
    if found.restricted_picklist and found.picklist_values:
        for choice in choices:
            if choice not in found.picklist_values:
                return f"{choice!r} is not a value of the restricted picklist {found.name}"
    if found.length is not None and kind.is_text and len(text) > found.length:
        return f"{text!r} is {len(text)} characters long; {found.name} holds at most {found.length}"
    return None
