"""In-memory doubles for plugin authors' tests: a target that behaves like a CRM, a source.

:class:`MemoryTarget` answers lookups as a CRM would (the normalizer applied on its side, the
records of one value sorted by ``Id``, typed values compared by type) and applies writes one
result per write, in order. It passes the target conformance suite, so a test that uses it in
place of a real CRM tests against the contract, not against a looser fake.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from fieldline.contracts import (
    ApplyResult,
    LookupRequest,
    LookupResult,
    ObjectDescription,
    SourceBase,
    SourceDocument,
    TargetBase,
    Write,
    WriteError,
    WriteOperation,
    WriteResult,
)
from fieldline.errors import FatalAdapterError
from fieldline.planning.planner import resolve_refs
from fieldline.planning.plans import Action, Plan

__all__ = ["MemorySource", "MemoryTarget"]


@dataclass
class MemoryTarget(TargetBase):
    """Records per object, as a CRM holds them. Ids are ``<object>-<n>`` and sort by age.

    An object listed in ``descriptions`` refuses fields it does not describe and creates that
    lack a required field (``stage="target"``, as a CRM would); other objects take any field.
    """

    name = "memory"

    records: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    descriptions: Mapping[str, ObjectDescription] = field(default_factory=dict)
    counter: itertools.count[int] = field(default_factory=lambda: itertools.count(1000))

    def describe(self, object_name: str) -> ObjectDescription:
        """The description given for ``object_name``."""
        description = self.descriptions.get(object_name)
        if description is None:
            raise FatalAdapterError(
                f"memory target: no description of object {object_name!r}",
                hint=f"pass MemoryTarget(descriptions={{{object_name!r}: ObjectDescription(...)}})",
                object=object_name,
            )
        return description

    def lookup(self, requests: Iterable[LookupRequest]) -> LookupResult:
        """Every record whose (normalized) ``field`` equals a requested value."""
        result: dict[tuple[str, str, tuple[str, ...]], dict[Any, list[dict[str, Any]]]] = {}
        for request in requests:
            found: dict[Any, list[dict[str, Any]]] = {}
            for candidate in self.records.get(request.object, []):
                stored = candidate.get(request.field)
                if stored is None or isinstance(stored, dict | list):
                    continue
                if request.normalizer is not None:
                    stored = request.normalizer(stored)
                if stored is None or stored == "":
                    continue
                # a CRM compares typed values: the text '1' never matches the number 1
                for wanted in request.values:
                    if type(wanted) is type(stored) and wanted == stored:
                        found.setdefault(wanted, []).append(dict(candidate))
            for matches in found.values():
                matches.sort(key=lambda item: str(item["Id"]))
            result[(request.object, request.field, request.normalize)] = found
        return result

    def apply(self, writes: Sequence[Write]) -> ApplyResult:
        """Write a batch: one result per write, in order; a refused write fails alone. Memory
        has no API budget: it never stops early."""
        return ApplyResult(tuple(self._apply_one(write) for write in writes))

    def apply_plan(self, plan: Plan) -> None:
        """Write every create and update of ``plan``, parents first (plan order).

        A shortcut for planner tests: what the runner would send, without batching.
        """
        ids: dict[tuple[str, str], str] = {}
        for record_plan in plan.records:
            if record_plan.target_id is not None:
                ids[(record_plan.record, record_plan.key)] = record_plan.target_id
        for record_plan in plan.records:
            if record_plan.action not in (Action.CREATE, Action.UPDATE):
                continue
            fields = resolve_refs(record_plan, ids)
            if record_plan.action is Action.CREATE:
                ids[(record_plan.record, record_plan.key)] = self._create(record_plan.object, fields)
            elif not self._update(record_plan.object, str(record_plan.target_id), fields):
                raise AssertionError(f"update of unknown record {record_plan.target_id}")

    # --- one write ---------------------------------------------------------------------------

    def _apply_one(self, write: Write) -> WriteResult:
        refused = self._refusal(write)
        if refused is not None:
            return WriteResult(key=write.key, ok=False, error=refused)
        if write.operation is WriteOperation.CREATE:
            return WriteResult(
                key=write.key, ok=True, target_id=self._create(write.object, write.fields), created=True
            )
        if write.operation is WriteOperation.UPDATE:
            if write.target_id is None or not self._update(write.object, write.target_id, write.fields):
                return _failed(write, "ENTITY_IS_DELETED", f"no {write.object} record {write.target_id}")
            return WriteResult(key=write.key, ok=True, target_id=write.target_id)
        return self._upsert(write)

    def _upsert(self, write: Write) -> WriteResult:
        external = write.external_id_field
        if external is None or external not in write.fields:
            return _failed(write, "MISSING_ARGUMENT", "an upsert needs external_id_field and its value")
        value = write.fields[external]
        matches = [record for record in self.records.get(write.object, []) if record.get(external) == value]
        if len(matches) > 1:
            found = f"{len(matches)} records have {external}={value!r}"
            return _failed(write, "DUPLICATE_EXTERNAL_ID", found)
        if not matches:
            new_id = self._create(write.object, write.fields)
            return WriteResult(key=write.key, ok=True, target_id=new_id, created=True)
        target_id = str(matches[0]["Id"])
        self._update(write.object, target_id, write.fields)
        return WriteResult(key=write.key, ok=True, target_id=target_id)

    def _refusal(self, write: Write) -> WriteError | None:
        description = self.descriptions.get(write.object)
        if description is None:
            return None
        unknown = tuple(name for name in write.fields if description.field(name) is None)
        if unknown:
            return WriteError(
                code="INVALID_FIELD", message=f"no such field on {write.object}: {unknown}", fields=unknown
            )
        if write.operation is WriteOperation.UPDATE:
            return None
        missing = tuple(
            name
            for name, described in description.fields.items()
            if described.required and write.fields.get(name) in (None, "")
        )
        if missing:
            message = f"required on {write.object}: {missing}"
            return WriteError(code="REQUIRED_FIELD_MISSING", message=message, fields=missing)
        return None

    def _create(self, object_name: str, fields: Mapping[str, Any]) -> str:
        new_id = f"{object_name}-{next(self.counter)}"
        self.records.setdefault(object_name, []).append({"Id": new_id, **self._stored(object_name, fields)})
        return new_id

    def _update(self, object_name: str, target_id: str, fields: Mapping[str, Any]) -> bool:
        for existing in self.records.get(object_name, []):
            if existing["Id"] == target_id:
                existing.update(self._stored(object_name, fields))
                return True
        return False

    def _stored(self, object_name: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        description = self.descriptions.get(object_name)
        blank_is_null = description is not None and description.blank_is_null
        return {name: None if blank_is_null and value == "" else value for name, value in fields.items()}


def _failed(write: Write, code: str, message: str) -> WriteResult:
    return WriteResult(key=write.key, ok=False, error=WriteError(code=code, message=message))


@dataclass
class MemorySource(SourceBase):
    """Documents held in a list: ``read()`` gives them in order (every call), ``fetch`` by key
    (the last document with that key wins, as a newer state would)."""

    name = "memory"

    documents: list[SourceDocument] = field(default_factory=list)

    def read(self) -> Iterator[SourceDocument]:
        return iter(list(self.documents))

    def fetch(self, key: str) -> SourceDocument | None:
        for document in reversed(self.documents):
            if document.key == key:
                return document
        return None
