"""Human renderings of the queue and the run log for ``fieldline status`` and ``fieldline logs``."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from fieldline.queue.jobs import DeadLetter, JobState, QueueHealth, QueueStatus
from fieldline.queue.run_store import RunLogEntry

__all__ = ["dead_letter_json", "format_time", "log_table", "status_renderable"]

_HEALTH_STYLE = {QueueHealth.EMPTY: "green", QueueHealth.WAITING: "yellow", QueueHealth.STALLED: "bold red"}


def format_time(timestamp: float | None) -> str:
    """UTC, to the second: ``2026-11-23 18:40:52Z``; ``-`` when there is none."""
    if timestamp is None:
        return "-"
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def dead_letter_json(letter: DeadLetter) -> dict[str, Any]:
    """One dead letter for ``status --json``."""
    kept = ("job_id", "source", "event_id", "attempts", "error", "failed_at")
    return {"type": letter.event_type, "key": letter.lock_key} | {
        name: getattr(letter, name) for name in kept
    }


def status_renderable(
    status: QueueStatus, dead_letters: Sequence[DeadLetter] = (), *, title: str | None = None
) -> RenderableType:
    """The queue at a glance: health line, counts, recent failures, dead letters. ``title``
    names the source when the queue holds several."""
    age = status.oldest_waiting_age
    headline = Text.assemble(
        (f"Queue {title}: " if title else "Queue: ", "bold"),
        (status.summary, _HEALTH_STYLE[status.health]),
        f"   oldest waiting: {age:.0f} s" if age is not None else "",
        f"   last processed: {format_time(status.last_processed_at)}",
    )
    counts = Table(title="jobs by state", title_justify="left")
    for state in JobState:
        counts.add_column(state.value, justify="right")
    counts.add_row(*(str(status.counts.get(state, 0)) for state in JobState))
    parts: list[RenderableType] = [headline, counts]

    failures = Table(title="10 most recent failures", title_justify="left")
    for column in ("time", "event id", "key", "attempts", "error"):
        failures.add_column(column, overflow="fold")  # ids are copied from here: never cut them
    for failure in status.recent_failures:
        failures.add_row(
            format_time(failure.failed_at),
            failure.event_id,
            failure.lock_key,
            f"{failure.attempts}{' (dead)' if failure.dead else ''}",
            failure.error,
        )
    parts.append(failures if status.recent_failures else Text("No failures recorded.", style="dim"))

    if dead_letters:
        dead = Table(title=f"dead letters ({status.dead_letters})", title_justify="left")
        for column in ("job", "event id", "type", "key", "attempts", "failed", "error"):
            dead.add_column(column, overflow="fold")
        for letter in dead_letters:
            dead.add_row(
                str(letter.job_id),
                letter.event_id,
                letter.event_type,
                letter.lock_key,
                str(letter.attempts),
                format_time(letter.failed_at),
                letter.error,  # wrapped in full, never cut
            )
        parts.append(dead)
        parts.append(Text("Send them back with `fieldline replay --all` (or JOB_ID ...).", style="dim"))
    return Group(*parts)


def log_table(entries: Sequence[RunLogEntry]) -> Table:
    """Run-log entries, newest first, one row each."""
    table = Table(title="run log", title_justify="left")
    for column in ("time", "entity", "record", "action", "target id", "written", "error"):
        table.add_column(column, overflow="fold")
    for entry in entries:
        written = json.dumps(dict(entry.written), default=str, sort_keys=True) if entry.written else ""
        table.add_row(
            format_time(entry.at),
            entry.entity_key,
            f"{entry.record} {entry.key}" if entry.record else "",
            entry.action,
            entry.target_id or "",
            written,
            entry.error or "",
        )
    return table
