"""Write-back planning: which values a spec's ``write_back`` puts into each source document.

Pure. A write-back takes a target field's value (``Id``: the target id) of a record that was
created, updated or found unchanged, and is planned only where the source document does not
have that value yet, so a re-sync writes nothing back. For a record still to be created the new
value is a :class:`~fieldline.planning.intents.Ref`, known once the target write returns its id.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fieldline.contracts import SourceDocument, WriteBack
from fieldline.planning.intents import Ref
from fieldline.planning.plans import Action, Decision, RecordPlan
from fieldline.spec.model import Spec, WriteBackSpec

__all__ = ["WriteBackChange", "plan_write_backs", "resolve_write_backs"]

_WRITTEN = (Action.CREATE, Action.UPDATE, Action.NOOP)


@dataclass(frozen=True, slots=True)
class WriteBackChange:
    """One source value to change once ``record`` ``key`` is written: ``old`` -> ``new``."""

    record: str
    key: str  # the record plan's key (the document key: write_back records have no for_each)
    document_key: str
    path: str
    old: Any
    new: Any  # a Ref while the record is still to be created

    @property
    def field(self) -> str:
        """The last part of the path, as ``plan`` shows it (``customer_ref``)."""
        return self.path.rsplit(".", 1)[-1]


def value_at(data: Any, path: str) -> Any:
    """The value at a dotted ``path`` of a document, ``None`` when absent."""
    node = data
    for part in path.split("."):
        if not isinstance(node, Mapping):
            return None
        node = node.get(part)
    return node


def _new_value(item: WriteBackSpec, record: RecordPlan) -> Any:
    if item.field.casefold() == "id":
        return record.target_id if record.target_id is not None else Ref(record.record, record.key)
    for change in record.changes:
        if change.field.casefold() == item.field.casefold():
            return change.new if change.decision is Decision.WRITE else change.old
    return None


def plan_write_backs(
    spec: Spec, documents: Sequence[SourceDocument], records: Sequence[RecordPlan]
) -> tuple[WriteBackChange, ...]:
    """The write-backs of one planned batch, in plan order: only values that would change."""
    by_key = {document.key: document for document in documents}
    changes: list[WriteBackChange] = []
    for record in records:
        record_spec = spec.record_named(record.record)
        if record_spec is None or not record_spec.write_back or record.action not in _WRITTEN:
            continue
        document_key = record.document_key or record.key
        document = by_key.get(document_key)
        if document is None:
            continue
        for item in record_spec.write_back:
            old = value_at(document.data, item.path)
            new = _new_value(item, record)
            if new is None or (not isinstance(new, Ref) and new == old):
                continue
            changes.append(WriteBackChange(record.record, record.key, document_key, item.path, old, new))
    return tuple(changes)


def resolve_write_backs(
    changes: Sequence[WriteBackChange], ids: Mapping[tuple[str, str], str], written: set[tuple[str, str]]
) -> list[WriteBack]:
    """The write-backs to send after the target writes: those of records in ``written`` (by
    ``(record, key)``), with created records' ids from ``ids``."""
    sends: list[WriteBack] = []
    for change in changes:
        slot = (change.record, change.key)
        if slot not in written:
            continue
        value = change.new
        if isinstance(value, Ref):
            value = ids.get((value.record, value.key))
            if value is None:
                continue
        sends.append(WriteBack(key=change.document_key, path=change.path, value=value))
    return sends
