"""What the earlier batches of a dry run would have written.

``sync`` plans each batch against the target as the earlier batches left it: a record created in
batch 1 is matched, not created again, in batch 2. A dry run writes nothing, so ``plan`` keeps the
creates and updates it planned here and lays them over each later batch's lookup. That way
``fieldline plan`` shows what ``fieldline sync`` will do, however many batches the source fills.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fieldline.compare import lookup_key
from fieldline.contracts import LookupRequest, LookupResult, ObjectDescription, TargetRecord
from fieldline.plan import Action, Plan

__all__ = ["PlannedWrites", "planned_id"]


def planned_id(label: str) -> str:
    """The stand-in id of a record a dry run would create (``(planned primary d1)``)."""
    return f"(planned {label})"


class PlannedWrites:
    """Records earlier batches would create, and fields they would update, by object."""

    def __init__(self, descriptions: Mapping[str, ObjectDescription]) -> None:
        self._descriptions = {name.lower(): description for name, description in descriptions.items()}
        self._created: dict[str, list[TargetRecord]] = {}
        self._updated: dict[tuple[str, str], dict[str, Any]] = {}

    def __bool__(self) -> bool:
        return bool(self._created or self._updated)

    def add(self, batch_plan: Plan) -> None:
        """Remember a planned batch's creates and updates."""
        for record in batch_plan.records:
            object_key = record.object.lower()
            if record.action is Action.CREATE:
                created = {"Id": planned_id(record.label), **record.writes}
                self._created.setdefault(object_key, []).append(created)
            elif record.action is Action.UPDATE and record.target_id is not None:
                self._updated.setdefault((object_key, record.target_id), {}).update(record.writes)

    def over(self, requests: Sequence[LookupRequest], existing: LookupResult) -> LookupResult:
        """``existing`` as the target would answer after the remembered writes."""
        if not self:
            return existing
        result: dict[tuple[str, str, tuple[str, ...]], dict[Any, list[TargetRecord]]] = {
            slot: {
                value: [self._patched(slot[0], record) for record in records]
                for value, records in found.items()
            }
            for slot, found in existing.items()
        }
        for request in requests:
            created = self._created.get(request.object.lower())
            if not created:
                continue
            description = self._descriptions.get(request.object.lower())
            field = description.field(request.field) if description is not None else None
            wanted = {lookup_key(value, field): value for value in request.values}
            found = result.setdefault((request.object, request.field, request.normalize), {})
            for record in created:
                value = record.get(request.field)
                if value is not None and request.normalizer is not None:
                    value = request.normalizer(value)
                try:
                    asked = wanted.get(lookup_key(value, field))
                except TypeError:  # an unhashable value cannot be a key
                    continue
                if asked is not None:
                    found.setdefault(asked, []).append(dict(record))
        return result

    def _patched(self, object_name: str, record: TargetRecord) -> TargetRecord:
        changes = self._updated.get((object_name.lower(), str(record.get("Id"))))
        return {**record, **changes} if changes else record
