"""What a sync did: each record's :class:`RecordOutcome`, a batch's or run's :class:`RunReport`,
and the bounded :class:`RunSummary` a long run keeps instead of every outcome."""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from fieldline.contracts import Stop, WriteBackResult
from fieldline.planning.plans import Action, Plan

__all__ = ["OutcomeStage", "RecordOutcome", "RunReport", "RunSummary", "outcome_count"]


class OutcomeStage(enum.StrEnum):
    """Where a planned record was stopped short of being written."""

    PLAN = "plan"  # it could not be planned
    PREFLIGHT = "preflight"  # invalid by the target's describe; never sent
    TARGET = "target"  # the target refused it
    PARENT = "parent"  # its parent was not written
    STOPPED = "stopped"  # not sent: the run stopped first (API budget or daily limit)


@dataclass(frozen=True, slots=True)
class RecordOutcome:
    """What happened to one planned record.

    ``action`` is what was planned; ``error`` is set when it was planned but not done (the target
    refused it, pre-flight found it invalid, its parent failed, or it could not be planned).
    ``retriable`` says whether trying again later may succeed.
    """

    record: str
    key: str
    document_key: str
    object: str
    action: Action
    target_id: str | None = None
    written: Mapping[str, Any] = field(default_factory=dict)
    error: str | None = None
    retriable: bool = False
    stage: OutcomeStage | None = None  # set when error is
    version: float | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(slots=True)
class RunSummary:
    """A run's outcomes, bounded: counts by outcome and the first ``keep`` failures (the rest
    are counted, and kept by the run store when the run has one). Memory stays flat however
    long the run."""

    keep: int = 1000
    counts: Counter[str] = field(default_factory=Counter)
    failures: list[RecordOutcome] = field(default_factory=list)
    failed: int = 0
    write_backs: Counter[str] = field(default_factory=Counter)
    write_back_failures: list[WriteBackResult] = field(default_factory=list)

    def add(self, outcomes: Sequence[RecordOutcome], write_backs: Sequence[WriteBackResult] = ()) -> None:
        for outcome in outcomes:
            self.counts[outcome_count(outcome)] += 1
            if not outcome.ok:
                self.failed += 1
                if len(self.failures) < self.keep:
                    self.failures.append(outcome)
        for result in write_backs:
            self.write_backs[result.status.value] += 1
            if not result.ok and len(self.write_back_failures) < self.keep:
                self.write_back_failures.append(result)

    @property
    def records(self) -> int:
        return sum(self.counts.values())


def outcome_count(outcome: RecordOutcome) -> str:
    """Which count ``outcome`` adds to: its action when done, ``error`` when it could not be
    planned and ``invalid`` when the pre-write checks refused it (as `plan` says), ``not_sent``
    when a stop left it unsent, else ``failed``."""
    if outcome.ok:
        return outcome.action.value
    if outcome.stage is OutcomeStage.PLAN:
        return Action.ERROR.value
    if outcome.action is Action.INVALID:
        return Action.INVALID.value  # refused by the pre-write checks, as `plan` said
    if outcome.stage is OutcomeStage.STOPPED:
        return "not_sent"  # nobody refused it
    return "failed"  # planned, then refused (pre-flight, target, parent)


@dataclass(slots=True)
class RunReport:
    """The outcomes of a batch or a run, in plan order, with the plans that produced them.

    ``stopped`` is set when the target stopped early: the batches before were done, the stopping
    batch's unsent records have stage ``STOPPED``, and no later document was read.

    A report made with ``summary`` (``RunReport.streaming()``) keeps no outcomes or plans when
    extended: only the bounded :class:`RunSummary` (``outcomes`` and ``plans`` stay empty), for
    runs whose outcomes go to a run store instead.
    """

    outcomes: list[RecordOutcome] = field(default_factory=list)
    plans: list[Plan] = field(default_factory=list)
    stopped: Stop | None = None
    # what writing values back into the source did, after the target writes (see Runner.sync)
    write_backs: list[WriteBackResult] = field(default_factory=list)
    summary: RunSummary | None = None

    @classmethod
    def streaming(cls, *, keep: int = 1000) -> RunReport:
        return cls(summary=RunSummary(keep=keep))

    @property
    def write_back_failures(self) -> list[WriteBackResult]:
        if self.summary is not None:
            return list(self.summary.write_back_failures)
        return [result for result in self.write_backs if not result.ok]

    @property
    def ok(self) -> bool:
        if self.summary is not None:
            return self.summary.failed == 0
        return all(outcome.ok for outcome in self.outcomes)

    @property
    def failures(self) -> list[RecordOutcome]:
        """The failed outcomes (of a streaming report: the first ``keep``; ``failed_count`` has all)."""
        if self.summary is not None:
            return list(self.summary.failures)
        return [outcome for outcome in self.outcomes if not outcome.ok]

    @property
    def failed_count(self) -> int:
        return self.summary.failed if self.summary is not None else len(self.failures)

    @property
    def retriable_failures(self) -> list[RecordOutcome]:
        return [outcome for outcome in self.failures if outcome.retriable]

    @property
    def fatal_failures(self) -> list[RecordOutcome]:
        return [outcome for outcome in self.failures if not outcome.retriable]

    @property
    def counts(self) -> dict[str, int]:
        """Outcomes by action, plus ``failed``, and ``not_sent`` when the run stopped."""
        counts = {action.value: 0 for action in Action}
        counts["failed"] = 0
        if self.stopped is not None:
            counts["not_sent"] = 0
        if self.summary is not None:
            counts.update(self.summary.counts)
            return counts
        for outcome in self.outcomes:
            key = outcome_count(outcome)
            counts[key] = counts.get(key, 0) + 1
        return counts

    def finished_documents(self) -> set[str]:
        """Documents with outcomes, none of them left unsent by a stop: settled either way."""
        unfinished = {o.document_key for o in self.outcomes if o.stage is OutcomeStage.STOPPED}
        return {outcome.document_key for outcome in self.outcomes} - unfinished

    def extend(self, other: RunReport) -> None:
        if self.summary is not None:
            self.summary.add(other.outcomes, other.write_backs)
        else:
            self.outcomes.extend(other.outcomes)
            self.plans.extend(other.plans)
            self.write_backs.extend(other.write_backs)
        self.stopped = other.stopped or self.stopped
