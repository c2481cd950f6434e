"""Rich renderings of plans and run reports, shared by ``plan``, ``sync`` and ``replay``."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from fieldline.commands.value_text import ACTION_STYLES, format_value
from fieldline.planning.plans import Decision, Plan

__all__ = ["format_value", "plan_table", "summary_table"]


def plan_table(plan: Plan, *, changes_only: bool = False, title: str | None = None) -> Group:
    """The plan as one block per record: a header line (record, key, action, how it matched or why
    it is skipped), then one row per field: field, old -> new, strategy, decision and reason."""
    blocks: list[Text | Table] = []
    if title:
        blocks.append(Text(title, style="bold underline"))
    write_backs: dict[tuple[str, str], list[str]] = {}
    for write_back in plan.write_backs:
        old = "(none)" if write_back.old is None else format_value(write_back.old)
        write_backs.setdefault((write_back.record, write_back.key), []).append(
            f"{write_back.field}: {old} → {format_value(write_back.new)}"
        )
    for record in plan.records:
        header = Text.assemble(
            (record.record, "bold"),
            " ",
            record.key,
            "  ",
            (record.action.value, ACTION_STYLES[record.action]),
        )
        notes = ([f"matched {record.matched_by}"] if record.matched_by else []) + list(record.reasons)
        if record.target_id and not record.matched_by:
            notes.insert(0, f"id {record.target_id}")
        if notes:
            header.append("  (" + "; ".join(notes) + ")", style="italic")
        blocks.append(header)
        for line in write_backs.get((record.record, record.key), ()):
            blocks.append(Text(f"  write back to the source: {line}", style="green"))
        changes = [
            change for change in record.changes if not changes_only or change.decision is Decision.WRITE
        ]
        if not changes:
            continue
        rows = Table(box=None, show_header=False, padding=(0, 1), pad_edge=False)
        rows.add_column("field", style="bold", no_wrap=True)
        rows.add_column("old → new", overflow="fold")
        rows.add_column("strategy", style="magenta", no_wrap=True)
        rows.add_column("why", overflow="fold")
        for change in changes:
            written = change.decision is Decision.WRITE
            rows.add_row(
                "  " + change.field,
                Text(
                    f"{format_value(change.old)} → {format_value(change.new)}",
                    style="green" if written else "dim",
                ),
                change.strategy.value,
                f"{change.decision.value}: {change.reason}" if change.reason else change.decision.value,
            )
        blocks.append(rows)
    return Group(*blocks)


def summary_table(counts: dict[str, int], *, title: str = "summary") -> Table:
    table = Table(title=title)
    for name in counts:
        table.add_column(name, justify="right")
    table.add_row(*(str(value) for value in counts.values()))
    return table


def print_json(console: Console, document: Any) -> None:
    console.print_json(json.dumps(document, default=str))
