"""Planned writes of several batches, gathered so the target gets them in one ``apply`` call.

A target whose cost is per call, not per record (Salesforce: a Bulk API 2.0 job costs about five
calls whatever its size) writes far fewer calls when ``sync`` hands it 25,000 writes at once
instead of 750 per batch. Batches are still read and planned 500 documents at a time; only
their creates and updates wait here, until the window is full or the input ends.

Correctness rests on three rules, each enforced by :class:`~fieldline.sync.runner.Runner`:

- a batch is planned against the target *and* the window's pending writes
  (:class:`~fieldline.planning.overlay.PlannedWrites`); when they change its lookup answer (it
  matches a pending create, or a record with a pending update), the window is written first and
  the batch planned again against the target as it now is;
- a batch that repeats a pending record, or has records that wait for another's create, is
  handled the same way;
- records that are not written (noop, skip, error, invalid) are settled at once; only the ids
  and failures that pending children refer to are kept, so the window holds its writes and
  little else.
"""

from __future__ import annotations

from collections.abc import Mapping

from fieldline.contracts import ObjectDescription
from fieldline.planning.overlay import PlannedWrites
from fieldline.planning.plans import Action, Plan, RecordPlan

__all__ = ["WriteWindow"]

Slot = tuple[str, str]  # (spec record name, intent key)
_WRITES = (Action.CREATE, Action.UPDATE)


class WriteWindow:
    """The creates and updates of the batches planned since the last write, up to ``limit``."""

    def __init__(self, limit: int, descriptions: Mapping[str, ObjectDescription]) -> None:
        self.limit = limit
        self._descriptions = descriptions
        self.planned = PlannedWrites(descriptions, compact=False)
        self.records: list[RecordPlan] = []
        self.ids: dict[Slot, str] = {}  # settled parents' ids that pending children refer to
        self.failed: set[Slot] = set()  # settled parents (error, invalid) pending children refer to
        self._slots: set[Slot] = set()

    def __len__(self) -> int:
        return len(self.records)

    @property
    def full(self) -> bool:
        return len(self.records) >= self.limit

    def conflicts(self, batch_plan: Plan) -> bool:
        """Whether ``batch_plan`` must not join the window: it repeats a pending record, or some
        of its records wait for another's create."""
        return any(
            record.waits_for is not None or (record.record, record.key) in self._slots
            for record in batch_plan.records
        )

    def add(self, batch_plan: Plan) -> list[RecordPlan]:
        """Keep the batch's writes; return its other records, settled now."""
        writes = [record for record in batch_plan.records if record.action in _WRITES]
        referenced = {(ref.record, ref.key) for record in writes for ref in record.refs}
        settled: list[RecordPlan] = []
        for record in batch_plan.records:
            slot = (record.record, record.key)
            if record.action in _WRITES:
                self.records.append(record)
                self._slots.add(slot)
                continue
            settled.append(record)
            if slot in referenced:
                if record.target_id is not None:
                    self.ids[slot] = record.target_id
                if record.action in (Action.ERROR, Action.INVALID):
                    self.failed.add(slot)
        if writes:
            self.planned.add(Plan(tuple(writes)))
        return settled

    def take(self) -> tuple[Plan, dict[Slot, str], set[Slot]]:
        """The pending writes as one plan (in batch order; the runner writes parents first),
        with the ids and failures they refer to; the window is empty after."""
        taken = (Plan(tuple(self.records)), self.ids, self.failed)
        self.planned = PlannedWrites(self._descriptions, compact=False)
        self.records, self.ids, self.failed, self._slots = [], {}, set(), set()
        return taken
