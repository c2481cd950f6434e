"""Connector logs: every ``fieldline sync`` run, with each record's outcome.

A run is a row (spec, its hash, source and target adapters, start and end, counts per outcome,
status and why it stopped); its records are rows keyed by ``(run, seq)`` with the record's key,
action, target id, error and the fields written (credentials redacted). ``fieldline runs``,
``fieldline runs show`` and ``fieldline status`` read them. Runs are written while they go, a
batch at a time, so a run's memory does not grow with its size and a crashed run is still
there (``running``, never ended).
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from fieldline.queue.run_store import REDACTED, is_secret_key, redact

__all__ = ["RunStatus", "SyncRun", "SyncRunLog", "SyncRunRecord"]


class RunStatus(enum.StrEnum):
    RUNNING = "running"  # started, not ended (still going, or the process died)
    OK = "ok"  # every record done
    FAILED = "failed"  # some records failed, or the run itself failed (error says why)
    STOPPED = "stopped"  # stopped early by the target's budget or daily limit: run it again later


@dataclass(frozen=True, slots=True)
class SyncRun:
    """One ``sync`` run. ``options`` are what the command line chose (limit, keys, modes, ...)."""

    id: int
    spec: str
    spec_hash: str
    source: str
    target: str
    started_at: float
    status: RunStatus
    ended_at: float | None = None
    counts: Mapping[str, int] = field(default_factory=dict)
    stop_reason: str | None = None
    error: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "spec": self.spec,
            "spec_hash": self.spec_hash,
            "source": self.source,
            "target": self.target,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "status": self.status.value,
            "counts": dict(self.counts),
            "stop_reason": self.stop_reason,
            "error": self.error,
            "options": dict(self.options),
        }


@dataclass(frozen=True, slots=True)
class SyncRunRecord:
    """One record's outcome in a run (``seq``: its place in the run, from 1)."""

    run_id: int
    seq: int
    record: str
    key: str
    document_key: str
    object: str
    action: str
    target_id: str | None = None
    error: str | None = None
    stage: str | None = None
    retriable: bool = False
    written: Mapping[str, Any] = field(default_factory=dict)
    # the plan's explanation: {"matched_by", "reasons", "fields": [{field, old, new, strategy,
    # decision, reason}]}; fields are kept for records written, refused or failed (not noops)
    explanation: Mapping[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "seq": self.seq,
            "record": self.record,
            "key": self.key,
            "document_key": self.document_key,
            "object": self.object,
            "action": self.action,
            "target_id": self.target_id,
            "error": self.error,
            "stage": self.stage,
            "retriable": self.retriable,
            "written": dict(self.written),
            "explanation": dict(self.explanation),
        }


@runtime_checkable
class SyncRunLog(Protocol):
    """Where sync runs are recorded (beside the queue: :class:`~fieldline.queue.storage.Storage`)."""

    def start(
        self, *, spec: str, spec_hash: str, source: str, target: str, options: Mapping[str, Any]
    ) -> int:
        """Record a run as started now; returns its id."""
        ...

    def add(self, run_id: int, records: Iterable[SyncRunRecord]) -> None:
        """Append records' outcomes to a run (one transaction)."""
        ...

    def finish(
        self,
        run_id: int,
        *,
        status: RunStatus,
        counts: Mapping[str, int],
        stop_reason: str | None = None,
        error: str | None = None,
    ) -> None:
        """Record how the run ended, now."""
        ...

    def runs(
        self, *, spec: str | None = None, status: RunStatus | None = None, limit: int = 50
    ) -> list[SyncRun]:
        """The newest runs first, optionally of one spec and/or with one status."""
        ...

    def run(self, run_id: int) -> SyncRun | None: ...

    def records(
        self, run_id: int, *, errors_only: bool = False, key: str | None = None, limit: int | None = None
    ) -> list[SyncRunRecord]:
        """A run's records in run order; ``key`` matches the record key or its document key."""
        ...

    def latest(self) -> dict[str, tuple[SyncRun | None, SyncRun | None]]:
        """Per spec: its last successful run and its last failed (or stopped) run."""
        ...

    def purge(self, before: float) -> int:
        """Delete runs that ended before ``before`` (epoch seconds), with their records."""
        ...

    def close(self) -> None: ...


# --- rows (shared by the SQL backends) ------------------------------------------------------

RUN_COLUMNS = (
    "id, spec, spec_hash, source, target, started_at, ended_at, status, counts, stop_reason, error, options"
)
RECORD_COLUMNS = (
    "run_id, seq, record, key, document_key, object, action, target_id, error, stage, retriable, written,"
    " explanation"
)


def run_from_row(row: Sequence[Any]) -> SyncRun:
    return SyncRun(
        id=int(row[0]),
        spec=row[1],
        spec_hash=row[2],
        source=row[3],
        target=row[4],
        started_at=float(row[5]),
        ended_at=float(row[6]) if row[6] is not None else None,
        status=RunStatus(row[7]),
        counts=json.loads(row[8]) if row[8] else {},
        stop_reason=row[9],
        error=row[10],
        options=json.loads(row[11]) if row[11] else {},
    )


class RedactedExplanation(dict[str, Any]):
    """An explanation whose maker already hid what must not be logged (credential fields' old
    and new values, credential-looking keys): :func:`record_row` writes it as it is."""


def record_row(record: SyncRunRecord) -> tuple[Any, ...]:
    """The row of ``record``, its written fields redacted (credentials never reach the log)."""
    return (
        record.run_id,
        record.seq,
        record.record,
        record.key,
        record.document_key,
        record.object,
        record.action,
        record.target_id,
        record.error,
        record.stage,
        bool(record.retriable),
        _SORTED_JSON.encode(redact(dict(record.written))) if record.written else "{}",
        _explanation_json(record.explanation),
    )


# One encoder each: json.dumps with options builds a new one per call (30,000 calls a 10k sync).
_JSON = json.JSONEncoder(default=str)
_SORTED_JSON = json.JSONEncoder(default=str, sort_keys=True)


def _explanation_json(explanation: Mapping[str, Any]) -> str:
    if not explanation:
        return "{}"
    if type(explanation) is RedactedExplanation:
        return _JSON.encode(explanation)
    return _JSON.encode(redacted_explanation(explanation))


def redacted_explanation(explanation: Mapping[str, Any]) -> Any:
    """An explanation with the old and new values of credential fields hidden (the field's name
    says it: ``{"field": "Api_Token__c", "new": ...}``) and credential-looking keys redacted.

    The usual shape (``matched_by``, ``reasons``, ``fields`` of plain changes) is checked
    directly: walking every change generically cost more than writing the row."""
    fields = explanation.get("fields", [])
    if not set(explanation) <= _EXPLANATION_KEYS or not isinstance(fields, list):
        return redact(dict(explanation))
    hidden: list[Any] = []
    for change in fields:
        if not isinstance(change, dict) or not set(change) <= _CHANGE_KEYS:
            hidden.append(redact(change))
            continue
        name = change.get("field")
        if isinstance(name, str) and is_secret_key(name):
            hidden.append({**change, "old": REDACTED, "new": REDACTED})
        elif type(change.get("old")) in _SCALARS and type(change.get("new")) in _SCALARS:
            hidden.append(change)
        else:
            hidden.append({**change, "old": redact(change.get("old")), "new": redact(change.get("new"))})
    return {**explanation, "fields": hidden} if "fields" in explanation else dict(explanation)


def hidden_change(field: str, old: Any, new: Any) -> tuple[Any, Any]:
    """A change's old and new values (JSON-ready) as the log may keep them: a credential field's
    hidden, credential-looking keys in structured values redacted (see :func:`redacted_explanation`)."""
    if is_secret_key(field):
        return REDACTED, REDACTED
    return (
        old if type(old) in _SCALARS else redact(old),
        new if type(new) in _SCALARS else redact(new),
    )


_EXPLANATION_KEYS = frozenset({"matched_by", "reasons", "fields"})
_CHANGE_KEYS = frozenset({"field", "old", "new", "strategy", "decision", "reason"})
_SCALARS = (str, int, float, bool, type(None))


def record_from_row(row: Sequence[Any]) -> SyncRunRecord:
    return SyncRunRecord(
        run_id=int(row[0]),
        seq=int(row[1]),
        record=row[2],
        key=row[3],
        document_key=row[4],
        object=row[5],
        action=row[6],
        target_id=row[7],
        error=row[8],
        stage=row[9],
        retriable=bool(row[10]),
        written=json.loads(row[11]) if row[11] else {},
        explanation=json.loads(row[12]) if row[12] and row[12] != "{}" else {},
    )


def latest_per_spec(runs: Iterable[SyncRun]) -> dict[str, tuple[SyncRun | None, SyncRun | None]]:
    """Per spec, from runs newest first: (last successful, last failed or stopped)."""
    latest: dict[str, tuple[SyncRun | None, SyncRun | None]] = {}
    for run in runs:
        good, bad = latest.get(run.spec, (None, None))
        if run.status is RunStatus.OK and good is None:
            good = run
        elif run.status in (RunStatus.FAILED, RunStatus.STOPPED) and bad is None:
            bad = run
        latest[run.spec] = (good, bad)
    return latest
