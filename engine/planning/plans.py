"""The plan: what a sync would do to each target record, field by field, and why.

Pure values; the planner function that builds them lives in :mod:`fieldline.planning.planner`.
``fieldline plan`` prints a :class:`Plan`; ``fieldline sync`` executes exactly it.
"""

from __future__ import annotations

import enum
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fieldline.planning.intents import Ref
from fieldline.spec.model import Strategy
from fieldline.values import MISSING

if TYPE_CHECKING:
    from fieldline.planning.write_back import WriteBackChange

__all__ = [
    "Action",
    "Decision",
    "FieldChange",
    "Plan",
    "RecordPlan",
    "json_value",
    "record_json",
    "write_back_json",
]


class Action(enum.StrEnum):
    CREATE = "create"
    UPDATE = "update"
    NOOP = "noop"  # the record exists and nothing would change
    SKIP = "skip"  # deliberately not written (mode, when, on_many: skip, parent not written, ...)
    ERROR = "error"  # cannot be planned (several matches, unmapped value, evaluation error)
    INVALID = "invalid"  # planned, but the target's pre-write checks refuse it (too long, required, ...)


class Decision(enum.StrEnum):
    """What the strategy decided for one field."""

    WRITE = "write"  # will be written
    UNCHANGED = "unchanged"  # target already has this value
    KEPT = "kept"  # if_empty: the target field already has a value
    NOT_ON_UPDATE = "not_on_update"  # on_create: the record exists
    NULL_SKIPPED = "null_skipped"  # nulls: skip and the source value is null
    MISSING = "missing"  # the source does not have the value and there is no default
    UNMAPPED_SKIPPED = "unmapped_skipped"  # map with unmapped: skip


@dataclass(frozen=True, slots=True)
class FieldChange:
    """One field of one record: old -> new and the strategy's decision.

    ``old`` is ``MISSING`` when the record is created; ``new`` may be a :class:`Ref` to a
    parent still being created.
    """

    field: str
    old: Any
    new: Any
    strategy: Strategy
    decision: Decision
    reason: str
    source: str = ""


@dataclass(frozen=True, slots=True)
class RecordPlan:
    """The plan for one target record."""

    record: str
    object: str
    key: str
    action: Action
    changes: tuple[FieldChange, ...] = ()
    target_id: str | None = None
    matched_by: str | None = None  # e.g. "PassFort_Profile_Id__c = 'abc'"
    reasons: tuple[str, ...] = ()
    version: float | None = None
    document_key: str | None = None  # the source document this record came from
    waits_for: str | None = None  # label of an earlier record's create this one must follow

    @property
    def writes(self) -> dict[str, Any]:
        """The fields to send, in spec order: only those whose decision is ``write``."""
        return {change.field: change.new for change in self.changes if change.decision is Decision.WRITE}

    @property
    def refs(self) -> tuple[Ref, ...]:
        return tuple(
            change.new
            for change in self.changes
            if change.decision is Decision.WRITE and isinstance(change.new, Ref)
        )

    @property
    def label(self) -> str:
        return f"{self.record} {self.key}"


@dataclass(frozen=True, slots=True)
class Plan:
    """Every record's plan, in a deterministic order: spec record order (parents before
    children), then source order."""

    records: tuple[RecordPlan, ...]
    write_backs: tuple[WriteBackChange, ...] = ()  # source values to change once written

    def counts(self) -> dict[str, int]:
        counted = Counter(record.action.value for record in self.records)
        return {action.value: counted.get(action.value, 0) for action in Action}

    def by_action(self, action: Action) -> tuple[RecordPlan, ...]:
        return tuple(record for record in self.records if record.action is action)

    def find(self, record: str, key: str) -> RecordPlan | None:
        for record_plan in self.records:
            if record_plan.record == record and record_plan.key == key:
                return record_plan
        return None

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready form (used by golden tests and the run log; ``plan --json`` writes the
        same entries one a line)."""
        return {
            "counts": self.counts(),
            "records": [record_json(record) for record in self.records],
            # only when the spec writes back, so plans of other specs keep their shape
            **(
                {"write_back": [write_back_json(change) for change in self.write_backs]}
                if self.write_backs
                else {}
            ),
        }


def record_json(record: RecordPlan) -> dict[str, Any]:
    """One record's plan as JSON-ready values."""
    return {
        "record": record.record,
        "object": record.object,
        "key": record.key,
        "action": str(record.action),
        "target_id": record.target_id,
        "matched_by": record.matched_by,
        "reasons": list(record.reasons),
        **({"waits_for": record.waits_for} if record.waits_for is not None else {}),
        "fields": [
            {
                "field": change.field,
                "old": json_value(change.old),
                "new": json_value(change.new),
                # str(): a StrEnum's value as a plain str, without the cost of ``.value``
                "strategy": str(change.strategy),
                "decision": str(change.decision),
                "reason": change.reason,
                "source": change.source,
            }
            for change in record.changes
        ],
    }


def write_back_json(change: WriteBackChange) -> dict[str, Any]:
    """One planned write-back into the source as JSON-ready values."""
    return {
        "record": change.record,
        "key": change.key,
        "path": change.path,
        "old": json_value(change.old),
        "new": json_value(change.new),
    }


def json_value(value: Any) -> Any:
    """Sentinels and refs as readable JSON: ``MISSING`` -> ``{"missing": true}``."""
    if value is MISSING:
        return {"missing": True}
    if isinstance(value, Ref):
        return {"ref": value.record, "key": value.key}
    return value
