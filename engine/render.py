"""Rich renderings of plans and run reports, shared by ``plan``, ``sync`` and ``replay``."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from fieldline.intents import Ref
from fieldline.plan import Action, Decision, Plan
from fieldline.values import MISSING

__all__ = ["format_value", "plan_table", "summary_table"]

_ACTION_STYLES = {
    Action.CREATE: "bold green",
    Action.UPDATE: "bold yellow",
    Action.NOOP: "dim",
    Action.SKIP: "cyan",
    Action.ERROR: "bold red",
}


def format_value(value: Any, *, limit: int = 60) -> str:
    """A short, unambiguous rendering: ``MISSING`` and null and ``""`` all look different."""
    if value is MISSING:
        return "(missing)"
    if isinstance(value, Ref):
        return str(value)
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def plan_table(plan: Plan, *, changes_only: bool = False, title: str | None = None) -> Table:
    """One row per field of every record: record, key, action, field, old -> new, strategy, why."""
    table = Table(title=title, show_lines=False, expand=False)
    for column in ("record", "key", "action", "field", "old → new", "strategy", "why"):
        table.add_column(column, overflow="fold")
    for record in plan.records:
        style = _ACTION_STYLES[record.action]
        header: list[str | Text] = [record.record, record.key, Text(record.action.value, style=style)]
        why = "; ".join(record.reasons)
        if record.matched_by:
            why = f"matched {record.matched_by}" + (f"; {why}" if why else "")
        changes = [
            change for change in record.changes if not changes_only or change.decision is Decision.WRITE
        ]
        if not changes:
            table.add_row(*header, "", "", "", why)
            continue
        if why:
            table.add_row(*header, "", "", "", why)
            header = ["", "", ""]
        for change in changes:
            written = change.decision is Decision.WRITE
            arrow = f"{format_value(change.old)} → {format_value(change.new)}"
            table.add_row(
                *header,
                change.field,
                Text(arrow, style="green" if written else "dim"),
                change.strategy.value,
                f"{change.decision.value}: {change.reason}" if change.reason else change.decision.value,
            )
            header = ["", "", ""]
    return table


def summary_table(counts: dict[str, int], *, title: str = "summary") -> Table:
    table = Table(title=title)
    for name in counts:
        table.add_column(name, justify="right")
    table.add_row(*(str(value) for value in counts.values()))
    return table


def print_json(console: Console, document: Any) -> None:
    console.print_json(json.dumps(document, default=str))
