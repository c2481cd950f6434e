"""Recording a ``sync`` run in the connector logs (:class:`~fieldline.queue.sync_runs.SyncRunLog`)
while it goes: the run when it starts, each batch's outcomes as the batch ends, and how it ended."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fieldline.queue.sync_runs import RunStatus, SyncRunLog, SyncRunRecord
from fieldline.spec.model import Spec
from fieldline.sync.report import RunReport

__all__ = ["RunRecorder", "spec_hash"]


def spec_hash(spec: Spec) -> str:
    """The first 12 hex digits of the SHA-256 of the spec file (of its parsed form without one),
    so a run says which version of the spec made it."""
    data = Path(spec.file).read_bytes() if spec.file and Path(spec.file).is_file() else repr(spec).encode()
    return hashlib.sha256(data).hexdigest()[:12]


class RunRecorder:
    """One run in ``log``: :meth:`on_batch` is the runner's ``on_batch``; then :meth:`finish`
    (or :meth:`fail` when the run raised)."""

    def __init__(self, log: SyncRunLog, spec: Spec, *, options: Mapping[str, Any]) -> None:
        self.log = log
        self.run_id = log.start(
            spec=spec.name,
            spec_hash=spec_hash(spec),
            source=spec.source.adapter if spec.source is not None else "",
            target=spec.target.adapter if spec.target is not None else "",
            options=options,
        )
        self._seq = 0

    def on_batch(self, batch: RunReport) -> None:
        records = []
        for outcome in batch.outcomes:
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
