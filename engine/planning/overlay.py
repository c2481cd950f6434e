"""What the earlier batches of a dry run would have written.

``sync`` plans each batch against the target as the earlier batches left it: a record created in
batch 1 is matched, not created again, in batch 2. A dry run writes nothing, so ``plan`` keeps the
creates and updates it planned here and lays them over each later batch's lookup. That way
``fieldline plan`` shows what ``fieldline sync`` will do, however many batches the source fills.

Every planned create has to be kept (a later batch may match it), so they are kept small: each
record pickled, the indexes holding positions. A plan of 100,000 profiles keeps some 300 bytes
per planned create, where the records themselves took well over twice that.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from fieldline.contracts import (
    FieldDescription,
    LookupRequest,
    LookupResult,
    ObjectDescription,
    TargetRecord,
)
from fieldline.planning.compare import lookup_key
from fieldline.planning.plans import Action, Plan

__all__ = ["PlannedWrites", "planned_id"]


def planned_id(label: str) -> str:
    """The stand-in id of a record a dry run would create (``(planned primary d1)``)."""
    return f"(planned {label})"


class PlannedWrites:
    """Records earlier batches would create, and fields they would update, by object."""

    def __init__(self, descriptions: Mapping[str, ObjectDescription], *, compact: bool = True) -> None:
        """``compact``: keep each record pickled (a dry run, which holds nothing else of earlier
        batches); a write window, which holds their plans anyway, keeps them as they are."""
        self._descriptions = {name.lower(): description for name, description in descriptions.items()}
        self._pack: Callable[[dict[str, Any]], Any] = _pickled if compact else _as_is
        self._unpack: Callable[[Any], dict[str, Any]] = pickle.loads if compact else dict
        self._created: dict[str, list[Any]] = {}  # records (packed), by object
        self._updated: dict[tuple[str, str], Any] = {}  # fields (packed), by (object, id)
        # (object, field, normalize) -> the created records by lookup key; kept up to date by add()
        self._indexes: dict[tuple[str, str, tuple[str, ...]], _Index] = {}

    def __bool__(self) -> bool:
        return bool(self._created or self._updated)

    def add(self, batch_plan: Plan) -> None:
        """Remember a planned batch's creates and updates."""
        for record in batch_plan.records:
            object_key = record.object.lower()
            if record.action is Action.CREATE:
                created = {"Id": planned_id(record.label), **record.writes}
                stored = self._created.setdefault(object_key, [])
                stored.append(self._pack(created))
                for (indexed_object, _, _), index in self._indexes.items():
                    if indexed_object == object_key:
                        index.add(created, len(stored) - 1)
            elif record.action is Action.UPDATE and record.target_id is not None:
                slot = (object_key, record.target_id)
                earlier = self._updated.get(slot)
                fields = {**self._unpack(earlier), **record.writes} if earlier else record.writes
                self._updated[slot] = self._pack(fields)

    def over(self, requests: Sequence[LookupRequest], existing: LookupResult) -> LookupResult:
        """``existing`` as the target would answer after the remembered writes."""
        if not self:
            return existing
        result: dict[tuple[str, str, tuple[str, ...]], dict[Any, list[TargetRecord]]] = {}
        for slot, found in existing.items():
            result[slot] = {
                value: [self._patched(slot[0], record) for record in records]
                for value, records in found.items()
            }
        for request in requests:
            index = self._index(request)
            if index is None:
                continue
            found = result.setdefault((request.object, request.field, request.normalize), {})
            for value in request.values:
                records = index.find(value)
                if records:
                    found.setdefault(value, []).extend(records)
        return result

    def touches(self, requests: Sequence[LookupRequest], existing: LookupResult) -> bool:
        """Whether :meth:`over` would change ``existing``: a requested value matches a
        remembered create, or a found record has remembered updates."""
        if not self:
            return False
        if self._updated:
            for (object_name, _, _), found in existing.items():
                object_key = object_name.lower()
                for records in found.values():
                    if any((object_key, str(record.get("Id"))) in self._updated for record in records):
                        return True
        for request in requests:
            index = self._index(request)
            if index is not None and any(index.has(value) for value in request.values):
                return True
        return False

    def _index(self, request: LookupRequest) -> _Index | None:
        object_key = request.object.lower()
        created = self._created.get(object_key)
        if not created:
            return None
        slot = (object_key, request.field, request.normalize)
        index = self._indexes.get(slot)
        if index is None:
            description = self._descriptions.get(object_key)
            field = description.field(request.field) if description is not None else None
            index = self._indexes[slot] = _Index(
                request.field, field, request.normalizer, created, self._unpack
            )
            for position, record in enumerate(created):
                index.add(self._unpack(record), position)
        return index

    def _patched(self, object_name: str, record: TargetRecord) -> TargetRecord:
        changes = self._updated.get((object_name.lower(), str(record.get("Id"))))
        return {**record, **self._unpack(changes)} if changes else record


def _pickled(value: dict[str, Any]) -> bytes:
    return pickle.dumps(value, pickle.HIGHEST_PROTOCOL)


def _as_is(value: dict[str, Any]) -> dict[str, Any]:
    return value


class _Index:
    """Created records (positions in ``stored``) by the lookup key of one field's (normalized)
    value."""

    def __init__(
        self,
        field_name: str,
        field: FieldDescription | None,
        normalizer: Callable[[Any], Any] | None,
        stored: list[Any],
        unpack: Callable[[Any], dict[str, Any]],
    ) -> None:
        self.field_name = field_name
        self.field = field
        self.normalizer = normalizer
        self.stored = stored
        self.unpack = unpack
        self.records: dict[Any, list[int]] = {}
        self.folded: set[str] = set()  # text keys that folding changes, folded (SOQL matches so)

    def add(self, record: TargetRecord, position: int) -> None:
        value = record.get(self.field_name)
        if value is None:
            return
        if self.normalizer is not None:
            value = self.normalizer(value)
        try:
            key = lookup_key(value, self.field)
            self.records.setdefault(key, []).append(position)
        except TypeError:  # an unhashable value cannot be a key
            return
        if isinstance(value, str) and (folded := value.casefold()) != value:
            self.folded.add(folded)  # only where folding changes it: most keys are ids already folded

    def has(self, value: Any) -> bool:
        """Whether a created record may be ``value``'s match (text compared case-folded)."""
        try:
            if lookup_key(value, self.field) in self.records:
                return True
        except TypeError:
            return False
        if isinstance(value, str):
            folded = value.casefold()
            return folded in self.folded or lookup_key(folded, self.field) in self.records
        return False

    def find(self, value: Any) -> list[TargetRecord]:
        """Fresh copies of the created records whose key is ``value``'s."""
        return [
            self.unpack(self.stored[position])
            for position in self.records.get(lookup_key(value, self.field), ())
        ]
