"""Pre-flight checks: refuse writes describe already says Salesforce would reject.

A record found invalid here is never sent; its :class:`~fieldline.contracts.WriteError` has
``stage="preflight"``, distinct from a record Salesforce itself rejected (``stage="target"``).
The codes are the ones Salesforce would have answered, so reports read the same either way.
"""

from __future__ import annotations

import math
from typing import Any

from fieldline.contracts import (
    FieldDescription,
    FieldType,
    ObjectDescription,
    Write,
    WriteError,
    WriteErrorStage,
    WriteOperation,
    field_value,
)
from fieldline.values import is_blank

__all__ = ["combined", "preflight", "preflight_problems"]


def _error(code: str, message: str, *fields: str) -> WriteError:
    return WriteError(
        code=code, message=message, fields=tuple(fields), retriable=False, stage=WriteErrorStage.PREFLIGHT
    )


def _operation_problem(write: Write, description: ObjectDescription) -> WriteError | None:
    """What is wrong with the write as a whole (an update without an id, an upsert without its key)."""
    if write.operation is WriteOperation.UPDATE and not write.target_id:
        return _error("MISSING_ID", f"update of {write.object} without a target id")
    if write.operation is WriteOperation.UPSERT:
        external = write.external_id_field
        external_description = description.field(external) if external else None
        if external_description is None or not (external_description.external_id or external == "Id"):
            return _error(
                "INVALID_FIELD",
                f"{write.object}.{external} is not an external id field; upsert needs one",
                external or "",
            )
        if is_blank(field_value(write.fields, external_description.name)):
            return _error(
                "REQUIRED_FIELD_MISSING",
                f"upsert by {external_description.name} needs a value for it",
                external_description.name,
            )
    return None


def preflight(write: Write, description: ObjectDescription) -> WriteError | None:
    """Why ``write`` would be refused -- every reason, in one error -- or ``None`` when it may
    be sent."""
    return combined(preflight_problems(write, description))


def preflight_problems(write: Write, description: ObjectDescription) -> list[WriteError]:
    """Every reason ``write`` would be refused (one per field at most), in field order."""
    problems: list[WriteError] = []
    whole = _operation_problem(write, description)
    if whole is not None:
        problems.append(whole)
    creating = write.operation in (WriteOperation.CREATE, WriteOperation.UPSERT)
    reported: set[str] = set()
    for name, value in write.fields.items():
        problem = _field_problem(write, name, value, description.field(name))
        if problem is not None:
            problems.append(problem)
            reported.add(name.lower())
    if creating:
        # The runner upserts only records it plans to create, so an upsert must be a valid create.
        missing = [
            name
            for name in _required(description)
            if name.lower() not in reported and is_blank(field_value(write.fields, name))
        ]
        if missing:
            problems.append(
                _error(
                    "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]", *missing
                )
            )
    return problems


def combined(problems: list[WriteError]) -> WriteError | None:
    """One error for all ``problems``: the first's code, every message, every field."""
    if len(problems) <= 1:
        return problems[0] if problems else None
    first, *rest = problems
    message = "; ".join([first.message, *(f"{problem.code}: {problem.message}" for problem in rest)])
    fields = tuple(dict.fromkeys(name for problem in problems for name in problem.fields))
    return _error(first.code, message, *fields)


def _field_problem(write: Write, name: str, value: Any, field: FieldDescription | None) -> WriteError | None:
    if field is None:
        return _error("INVALID_FIELD", f"No such column '{name}' on entity '{write.object}'", name)
    if write.operation is WriteOperation.CREATE and not field.createable:
        return _error(
            "INVALID_FIELD_FOR_INSERT_UPDATE", f"{write.object}.{field.name} is not createable", name
        )
    if write.operation is WriteOperation.UPDATE and not field.updateable:
        return _error(
            "INVALID_FIELD_FOR_INSERT_UPDATE", f"{write.object}.{field.name} is not updateable", name
        )
    if write.operation is WriteOperation.UPSERT and not field.createable:
        # the runner upserts only records it plans to create: the upsert must be a valid create
        return _error(
            "INVALID_FIELD_FOR_INSERT_UPDATE", f"{write.object}.{field.name} is not createable", name
        )
    if isinstance(value, float) and not math.isfinite(value):
        return _error(
            "INVALID_TYPE_ON_FIELD_IN_RECORD",
            f"{field.name}: {value!r} is not a number Salesforce (or JSON) can take",
            name,
        )
    if is_blank(value):
        if field.required:
            return _error("REQUIRED_FIELD_MISSING", f"Required fields are missing: [{field.name}]", name)
        return None
    if field.restricted_picklist and field.picklist_values and not _in_picklist(value, field.picklist_values):
        return _error(
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            f"bad value for restricted picklist field {field.name}: {value!r} "
            f"(allowed: {', '.join(field.picklist_values)})",
            name,
        )
    too_long = (
        field.length is not None
        and field.type.is_text
        and field.type is not FieldType.REFERENCE  # a too-long id is MALFORMED_ID, not too long
        and isinstance(value, str)
        and len(value) > field.length
    )
    if too_long:
        return _error(
            "STRING_TOO_LONG",
            f"{field.name}: data value too large: {len(value)} characters, max length={field.length}",
            name,
        )
    return None


# id(description) -> (the description, its required fields): a batch pre-flights thousands of
# creates against the same few descriptions (kept alive here, so an id is never reused).
_REQUIRED: dict[int, tuple[ObjectDescription, tuple[str, ...]]] = {}


def _required(description: ObjectDescription) -> tuple[str, ...]:
    cached = _REQUIRED.get(id(description))
    if cached is None or cached[0] is not description:
        names = tuple(field.name for field in description.fields.values() if field.required)
        if len(_REQUIRED) > 256:  # a long-lived worker re-describes now and then
            _REQUIRED.clear()
        cached = _REQUIRED[id(description)] = (description, names)
    return cached[1]


def _in_picklist(value: Any, allowed: tuple[str, ...]) -> bool:
    if isinstance(value, list | tuple):  # a multi-select value as a list: sent joined with ';'
        return all(str(part) in allowed for part in value)
    if isinstance(value, str) and ";" in value:  # multi-select picklists join values with ';'
        return all(part in allowed for part in value.split(";"))
    return str(value) in allowed
