"""What the console shows and does, read from (and written to) the storage — no HTML here.

One :class:`ConsoleData` per console: the queue and run store, the specs by source name (for
replay dry runs), and optionally the lookups' statistics of the serving process.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pluggy

from fieldline.contracts import WriteBackStatus
from fieldline.errors import ConfigError
from fieldline.planning.plans import Action
from fieldline.queue.jobs import DeadLetter, QueueStatus
from fieldline.queue.run_store import RunLogEntry
from fieldline.queue.storage import Storage
from fieldline.queue.sync_runs import RunStatus, SyncRun, SyncRunRecord
from fieldline.spec.model import Spec
from fieldline.sync.replay import ReplayPreview

__all__ = ["LOG_OUTCOMES", "RECORDS_SHOWN", "RUN_STATUSES", "ConsoleData", "SourceCard"]

_HOUR = 3600.0
RECORDS_SHOWN = 500  # a run's records on one page; filter by key or outcome for the rest

# The run log's actions: the plan's, then the worker's own, then write-back results.
LOG_OUTCOMES = (
    *(action.value for action in Action),
    "stale",
    "gone",
    "ignored",
    "own_write_back",
    "retry",
    "dead",
    "paused",
    *(f"write_back_{status.value}" for status in WriteBackStatus),
)
RUN_STATUSES = tuple(status.value for status in RunStatus)


@dataclass(frozen=True, slots=True)
class SourceCard:
    """One spec's queue at a glance, as PassFort's webhook status shows it."""

    source: str
    spec_name: str | None
    status: QueueStatus
    processed_last_hour: int


@dataclass
class ConsoleData:
    """The console's reads and its three actions (replay, its dry run, clear failures)."""

    storage: Storage
    specs: Mapping[str, Spec] = field(default_factory=dict)  # source name -> spec
    plugin_manager: pluggy.PluginManager | None = None
    stalled_after: float = 300.0
    lookup_status: Callable[[], dict[str, Any]] | None = None
    clock: Callable[[], float] = time.time

    def sources(self) -> list[str]:
        """The served specs' sources, then any other source with jobs in the queue."""
        return sorted(set(self.specs) | set(self.storage.queue.sources()))

    def cards(self) -> list[SourceCard]:
        queue = self.storage.queue
        since = self.clock() - _HOUR
        return [
            SourceCard(
                source=name,
                spec_name=self.specs[name].name if name in self.specs else None,
                status=queue.status(stalled_after=self.stalled_after, source=name),
                processed_last_hour=queue.processed_since(since, source=name),
            )
            for name in self.sources()
        ]

    def lookups(self) -> dict[str, Any]:
        """``{"lookups": {...}, "specs": {...}}`` from the serving process, or empty."""
        return self.lookup_status() if self.lookup_status is not None else {}

    def dead_letters(self, *, source: str | None = None, limit: int = 200) -> list[DeadLetter]:
        return self.storage.queue.dead_letters(limit, source=source or None)

    def log_entries(
        self,
        *,
        source: str | None = None,
        key: str | None = None,
        action: str | None = None,
        limit: int = 100,
    ) -> list[RunLogEntry]:
        """The newest run-log entries first; ``action`` filters after reading (a few hundred)."""
        entries = self.storage.runs.entries(source=source or None, entity=key or None, limit=limit * 4)
        if action:
            entries = [entry for entry in entries if entry.action == action]
        return entries[:limit]

    def sync_runs(
        self, *, spec: str | None = None, status: str | None = None, limit: int = 100
    ) -> list[SyncRun]:
        """Recorded ``sync`` runs, newest first; none when the backend keeps no connector logs."""
        log = self.storage.sync_runs
        if log is None:
            return []
        chosen = RunStatus(status) if status in RUN_STATUSES else None
        return log.runs(spec=spec or None, status=chosen, limit=limit)

    def sync_run(self, run_id: int) -> SyncRun | None:
        log = self.storage.sync_runs
        return log.run(run_id) if log is not None else None

    def sync_run_records(
        self, run_id: int, *, outcome: str | None = None, key: str | None = None, limit: int = RECORDS_SHOWN
    ) -> list[SyncRunRecord]:
        """One run's records in run order: ``outcome`` ``failed`` for the failures, or an action."""
        log = self.storage.sync_runs
        if log is None:
            return []
        failed = outcome == "failed"
        records = log.records(
            run_id, errors_only=failed, key=key or None, limit=None if outcome and not failed else limit
        )
        if outcome and not failed:
            records = [record for record in records if record.action == outcome and not record.error]
        return records[:limit]

    def chosen_letters(self, job_ids: Sequence[int], *, source: str | None) -> list[DeadLetter]:
        """The dead letters ``job_ids`` names (all of ``source`` when empty); ids no longer
        dead (replayed meanwhile) are left out."""
        letters = self.dead_letters(source=source, limit=1_000_000)
        if not job_ids:
            return letters
        wanted = set(job_ids)
        return [letter for letter in letters if letter.job_id in wanted]

    def preview(self, letters: Sequence[DeadLetter]) -> dict[str, ReplayPreview]:
        """Per source, what replaying ``letters`` would write now under the served spec."""
        from fieldline.sync.replay import preview_replay

        by_source: dict[str, list[DeadLetter]] = {}
        for letter in letters:
            by_source.setdefault(letter.source, []).append(letter)
        previews: dict[str, ReplayPreview] = {}
        for source, group in sorted(by_source.items()):
            spec = self.specs.get(source)
            if spec is None or self.plugin_manager is None:
                raise ConfigError(
                    f"no spec for the source {source!r}", hint="start the console with that source's --spec"
                )
            previews[source] = preview_replay(spec, group, plugin_manager=self.plugin_manager)
        return previews

    def replay(self, job_ids: Sequence[int]) -> int:
        return self.storage.queue.requeue(list(job_ids)) if job_ids else 0

    def clear_failures(self, *, source: str | None = None) -> int:
        return self.storage.queue.clear_failures(source=source or None)
