"""Recording a ``sync`` run in the connector logs (:class:`~fieldline.queue.sync_runs.SyncRunLog`)
while it goes: the run when it starts, each batch's outcomes as the batch ends, and how it ended."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from fieldline.planning.plans import Action, json_value
from fieldline.queue.sync_runs import (
    RedactedExplanation,
    RunStatus,
    SyncRunLog,
    SyncRunRecord,
    hidden_change,
)
from fieldline.spec.model import Spec
from fieldline.sync.report import RecordOutcome, RunReport
from fieldline.values import MISSING

__all__ = ["BatchRuns", "RunRecorder", "explanation", "spec_hash"]


def spec_hash(spec: Spec) -> str:
    """The first 12 hex digits of the SHA-256 of the spec file (of its parsed form without one),
    so a run says which version of the spec made it."""
    data = Path(spec.file).read_bytes() if spec.file and Path(spec.file).is_file() else repr(spec).encode()
    return hashlib.sha256(data).hexdigest()[:12]


class RunRecorder:
    """One run in ``log``: :meth:`on_batch` is the runner's ``on_batch``; then :meth:`finish`
    (or :meth:`fail` when the run raised)."""

    def __init__(
        self, log: SyncRunLog, spec: Spec, *, options: Mapping[str, Any], hashed: str | None = None
    ) -> None:
        self.log = log
        self.run_id = log.start(
            spec=spec.name,
            spec_hash=hashed or spec_hash(spec),
            source=spec.source.adapter if spec.source is not None else "",
            target=spec.target.adapter if spec.target is not None else "",
            options=options,
        )
        self._seq = 0

    def on_batch(self, batch: RunReport) -> None:
        # in slices: a write window settles tens of thousands of records at once, and their
        # rows (explanations as JSON) would all be held before the insert
        for start in range(0, len(batch.outcomes), _SLICE):
            self._add(batch.outcomes[start : start + _SLICE])

    def _add(self, outcomes: Sequence[RecordOutcome]) -> None:
        records = []
        for outcome in outcomes:
            self._seq += 1
            records.append(
                SyncRunRecord(
                    run_id=self.run_id,
                    seq=self._seq,
                    record=outcome.record,
                    key=outcome.key,
                    document_key=outcome.document_key,
                    object=outcome.object,
                    action=outcome.action.value,
                    target_id=outcome.target_id,
                    error=outcome.error,
                    stage=outcome.stage.value if outcome.stage is not None else None,
                    retriable=outcome.retriable,
                    written=outcome.written,
                    explanation=explanation(outcome),
                )
            )
        self.log.add(self.run_id, records)

    def finish(self, report: RunReport) -> RunStatus:
        """Record how ``report`` ended; returns the status recorded."""
        error = None
        if report.stopped is not None:
            status = RunStatus.STOPPED
            error = report.stopped.message
        elif report.ok and not report.write_back_failures:
            status = RunStatus.OK
        else:
            status = RunStatus.FAILED
            error = _failure_summary(report)
        self.log.finish(
            self.run_id,
            status=status,
            counts=report.counts,
            stop_reason=report.stopped.reason.value if report.stopped is not None else None,
            error=error,
        )
        return status

    def fail(self, error: str, report: RunReport) -> None:
        """The run raised after the batches in ``report``: record it as failed with ``error``."""
        self.log.finish(self.run_id, status=RunStatus.FAILED, counts=report.counts, error=error)


class BatchRuns:
    """The service's batches as runs in the connector logs: each ``runner.sync`` a worker makes
    over a batch of events is one run (``options`` say which worker), beside ``sync``'s runs."""

    def __init__(self, log: SyncRunLog, spec: Spec, *, worker_id: str) -> None:
        self.log = log
        self.spec = spec
        self.worker_id = worker_id
        self.hashed = spec_hash(spec)  # once: the file does not change under a running worker

    def start(self, *, documents: int, tenant: str = "") -> RunRecorder:
        options: dict[str, Any] = {"service": self.worker_id, "documents": documents}
        if tenant:
            options["tenant"] = tenant
        return RunRecorder(self.log, self.spec, options=options, hashed=self.hashed)


_SLICE = 1000  # records per insert
_MISSING_JSON = json_value(MISSING)  # one object: only ever encoded

# Records whose fields are worth keeping: written, refused or failed. A noop's fields all say
# "unchanged" and a skip's reasons say why, so theirs are left out (a re-sync logs little).
_EXPLAINED = frozenset({Action.CREATE, Action.UPDATE, Action.INVALID, Action.ERROR})


def explanation(outcome: RecordOutcome) -> dict[str, Any]:
    """The plan's explanation of ``outcome``'s record, as JSON for the connector log, with
    credential fields' values hidden (:class:`~fieldline.queue.sync_runs.RedactedExplanation`)."""
    plan = outcome.plan
    if plan is None:
        return {}
    explained = RedactedExplanation()
    if plan.matched_by:
        explained["matched_by"] = plan.matched_by
    if plan.reasons:
        explained["reasons"] = list(plan.reasons)
    if plan.changes and (outcome.action in _EXPLAINED or outcome.error is not None):
        fields = []
        for change in plan.changes:
            if change.old is MISSING:  # a create: nothing to redact on the old side
                old, new = _MISSING_JSON, hidden_change(change.field, None, json_value(change.new))[1]
            else:
                old, new = hidden_change(change.field, json_value(change.old), json_value(change.new))
            # StrEnum members are their text (and JSON writes them so): no ``.value`` lookups
            fields.append(
                {
                    "field": change.field,
                    "old": old,
                    "new": new,
                    "strategy": change.strategy,
                    "decision": change.decision,
                    "reason": change.reason,
                }
            )
        explained["fields"] = fields
    return explained


def _failure_summary(report: RunReport) -> str:
    failures = report.failures
    if not failures:
        problems = report.write_back_failures
        if not problems:
            return "failed"
        return f"write-back failed: {problems[0].key} {problems[0].path}: {problems[0].error}"
    first = failures[0]
    count = report.failed_count
    more = f" (and {count - 1} more)" if count > 1 else ""
    return f"{count} record(s) failed; first: {first.record} {first.key}: {first.error}{more}"
