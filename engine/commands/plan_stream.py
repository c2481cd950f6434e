"""``fieldline plan`` output, written batch by batch as the plans are made.

Nothing here holds more than one batch: every record's plan is written (as text blocks or as
JSON Lines, one entry a line) and then dropped, and the summary is a tally. So a plan of 100,000
documents takes the memory of one batch, and its first rows appear after the first batch.
JSON Lines are written straight to the stream (``json.dumps``), never through rich.
"""

from __future__ import annotations

import abc
import enum
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TextIO

from fieldline.commands.value_text import ACTION_STYLES, format_value
from fieldline.planning.plans import Action, Decision, Plan, RecordPlan, record_json, write_back_json
from fieldline.spec.model import Strategy

if TYPE_CHECKING:
    from rich.console import Console

    from fieldline.planning.write_back import WriteBackChange

__all__ = ["JsonLinesPlanWriter", "Only", "PlanTally", "TextPlanWriter", "write_plan"]


class Only(enum.StrEnum):
    """Which records ``plan`` shows (the summary always counts them all)."""

    ALL = "all"
    CHANGES = "changes"  # records that would be written: create or update
    ERRORS = "errors"  # records that cannot be planned, or that the target's checks refuse

    def shows(self, record: RecordPlan) -> bool:
        if self is Only.CHANGES:
            return record.action in (Action.CREATE, Action.UPDATE)
        if self is Only.ERRORS:
            return record.action in (Action.ERROR, Action.INVALID)
        return True


@dataclass(slots=True)
class PlanTally:
    """Records by action over the whole plan, and how many were shown or held back."""

    counts: dict[str, int] = field(default_factory=lambda: {action.value: 0 for action in Action})
    shown: int = 0
    hidden: int = 0  # would have been shown but for --limit-rows

    @property
    def errors(self) -> int:
        """Records in error or invalid: ``plan`` exits 1 when there are any."""
        return self.counts[Action.ERROR.value] + self.counts[Action.INVALID.value]


class _Writer(abc.ABC):
    """Shared filtering and counting; subclasses write the shown records."""

    def __init__(self, *, only: Only = Only.ALL, limit_rows: int | None = None) -> None:
        self.only = only
        self.limit_rows = limit_rows
        self.tally = PlanTally()

    def add(self, batch_plan: Plan) -> None:
        """Count and write one batch's records (those ``only`` and ``limit_rows`` let through)."""
        shown: list[RecordPlan] = []
        for record in batch_plan.records:
            self.tally.counts[record.action] += 1  # a StrEnum: the same key as its value, found faster
            if not self.only.shows(record):
                continue
            if self.limit_rows is not None and self.tally.shown >= self.limit_rows:
                self.tally.hidden += 1
                continue
            self.tally.shown += 1
            shown.append(record)
        slots = {(record.record, record.key) for record in shown}
        write_backs = [change for change in batch_plan.write_backs if (change.record, change.key) in slots]
        if shown:
            self.write_records(shown, write_backs)

    @abc.abstractmethod
    def write_records(self, records: list[RecordPlan], write_backs: list[WriteBackChange]) -> None:
        """Write the records shown from one batch, with their planned write-backs."""

    @abc.abstractmethod
    def finish(self) -> None:
        """Write the summary, after the last batch."""


class JsonLinesPlanWriter(_Writer):
    """One JSON object a line: ``{"type": "record", ...}`` per record, ``{"type": "write_back",
    ...}`` per planned write-back, and ``{"type": "summary", "counts": ..., ...}`` last."""

    def __init__(self, stream: TextIO, *, only: Only = Only.ALL, limit_rows: int | None = None) -> None:
        super().__init__(only=only, limit_rows=limit_rows)
        self.stream = stream

    def write_records(self, records: list[RecordPlan], write_backs: list[WriteBackChange]) -> None:
        lines = [_line({"type": "record", **record_json(record)}) for record in records]
        lines.extend(_line({"type": "write_back", **write_back_json(change)}) for change in write_backs)
        self.stream.write("".join(lines))

    def finish(self) -> None:
        summary: dict[str, Any] = {"type": "summary", "counts": self.tally.counts, "shown": self.tally.shown}
        if self.tally.hidden:
            summary["not_shown"] = self.tally.hidden
        self.stream.write(_line(summary))
        self.stream.flush()


def _line(entry: dict[str, Any]) -> str:
    return json.dumps(entry, ensure_ascii=False, default=str) + "\n"


_Line = list[tuple[str, str]]  # (text, rich style) pieces of one output line
# each enum member's text: faster than ``.value`` (a descriptor) for millions of fields
_TEXT: dict[enum.Enum, str] = {
    member: member.value for kind in (Action, Decision, Strategy) for member in kind
}


class TextPlanWriter(_Writer):
    """One block per record: a header line (record, key, action, how it matched or why it is
    skipped), then one line per field: field, old -> new, strategy, decision and reason.

    On a terminal the pieces are styled through rich; otherwise (a pipe, a file, CI) the plain
    text is written straight to the stream, which keeps 100,000 records cheap to print.
    """

    def __init__(
        self,
        console: Console,
        *,
        title: str,
        changes_only: bool = False,
        only: Only = Only.ALL,
        limit_rows: int | None = None,
    ) -> None:
        super().__init__(only=only, limit_rows=limit_rows)
        self.console = console
        self.changes_only = changes_only
        self._emit([[(title, "bold underline")]])

    def write_records(self, records: list[RecordPlan], write_backs: list[WriteBackChange]) -> None:
        backs: dict[tuple[str, str], list[str]] = {}
        for change in write_backs:
            old = "(none)" if change.old is None else format_value(change.old)
            backs.setdefault((change.record, change.key), []).append(
                f"{change.field}: {old} → {format_value(change.new)}"
            )
        if not self.console.is_terminal:  # plain text, built as one string: the common, big case
            self.console.file.write(
                "".join(
                    [
                        self._record_text(record, backs.get((record.record, record.key), ()))
                        for record in records
                    ]
                )
            )
            return
        lines: list[_Line] = []
        for record in records:
            lines.extend(self._record_lines(record, backs.get((record.record, record.key), ())))
        self._emit(lines)

    def _record_text(self, record: RecordPlan, backs: Iterable[str]) -> str:
        """The lines of :meth:`_record_lines`, without their styles."""
        return "".join(
            ["".join([text for text, _ in line]) + "\n" for line in self._record_lines(record, backs)]
        )

    def _record_lines(self, record: RecordPlan, backs: Iterable[str]) -> list[_Line]:
        header: _Line = [
            (record.record, "bold"),
            (f" {record.key}  ", ""),
            (_TEXT[record.action], ACTION_STYLES[record.action]),
        ]
        notes = ([f"matched {record.matched_by}"] if record.matched_by else []) + list(record.reasons)
        if record.target_id and not record.matched_by:
            notes.insert(0, f"id {record.target_id}")
        if notes:
            header.append(("  (" + "; ".join(notes) + ")", "italic"))
        lines = [header]
        lines.extend([(f"  write back to the source: {line}", "green")] for line in backs)
        changes = [
            change for change in record.changes if not self.changes_only or change.decision is Decision.WRITE
        ]
        width = max((len(change.field) for change in changes), default=0)
        for change in changes:
            written = change.decision is Decision.WRITE
            decision = _TEXT[change.decision]
            why = f" {decision}: {change.reason}" if change.reason else " " + decision
            lines.append(
                [
                    ("  " + change.field.ljust(width) + " ", "bold"),
                    (
                        format_value(change.old) + " → " + format_value(change.new),
                        "green" if written else "dim",
                    ),
                    (" ", ""),
                    (_TEXT[change.strategy], "magenta"),
                    (why, ""),
                ]
            )
        return lines

    def finish(self) -> None:
        from fieldline.commands.render import summary_table

        if self.tally.hidden:
            more = f"… {self.tally.hidden} more record(s) not shown (--limit-rows {self.limit_rows})"
            self._emit([[(more, "italic")]])
        self.console.print(summary_table(self.tally.counts))

    def _emit(self, lines: list[_Line]) -> None:
        if not self.console.is_terminal:
            self.console.file.write("".join(["".join([text for text, _ in line]) + "\n" for line in lines]))
            return
        from rich.text import Text

        for line in lines:
            self.console.print(Text.assemble(*line), highlight=False, soft_wrap=True)


def write_plan(plans: Iterable[Plan], writer: JsonLinesPlanWriter | TextPlanWriter) -> PlanTally:
    """Write every batch's plan as it comes, then the summary; the tally of the whole plan."""
    for batch_plan in plans:
        writer.add(batch_plan)
    writer.finish()
    return writer.tally
