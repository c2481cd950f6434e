"""``fieldline plan`` (dry run) and ``fieldline sync`` (batch run) for a spec's source and target."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from fieldline.commands.spec_loading import load_spec_or_exit

if TYPE_CHECKING:
    from rich.console import Console

    from fieldline.sync.runner import RunReport

_SPEC = click.argument("spec_path", metavar="SPEC", type=click.Path(path_type=Path, dir_okay=False))
_BATCH = click.option(
    "--batch-size",
    default=500,
    show_default=True,
    type=click.IntRange(1, 100_000),
    help="Documents per batch (one round of lookups and writes each).",
)
_LIMIT = click.option("--limit", type=click.IntRange(1), help="Read at most this many source documents.")


@click.command()
@_SPEC
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
@click.option("--changes-only", is_flag=True, help="Show only fields that would be written.")
@_BATCH
@_LIMIT
def plan(spec_path: Path, as_json: bool, changes_only: bool, batch_size: int, limit: int | None) -> None:
    """Show what `sync` would write, field by field, and why — without writing.

    Every record gets an action (create, update, noop, skip, error); every field its old and new
    value and the strategy's decision. Exit status 1 when a record is in error.
    """
    from itertools import islice

    from rich.console import Console

    from fieldline.commands.render import plan_table, print_json, summary_table
    from fieldline.planning.plans import Action
    from fieldline.plugins.manager import get_plugin_manager
    from fieldline.sync.adapter_builder import build_source, build_target
    from fieldline.sync.runner import Runner

    manager = get_plugin_manager()
    spec = load_spec_or_exit(spec_path, manager)
    source = build_source(spec, manager)
    target = build_target(spec, manager)
    try:
        documents = source.read()
        if limit is not None:
            documents = islice(documents, limit)
        result = Runner(spec, target, plugin_manager=manager, batch_size=batch_size).plan(documents)
    finally:
        source.close()
        target.close()
    console = Console()
    if as_json:
        print_json(console, result.as_json())
    else:
        console.print(plan_table(result, changes_only=changes_only, title=f"plan: {spec.name}"))
        console.print(summary_table(result.counts()))
    if result.by_action(Action.ERROR):
        sys.exit(1)


@click.command()
@_SPEC
@click.option("--dry-run", is_flag=True, help="Plan only (same as `fieldline plan`).")
@click.option("--json", "as_json", is_flag=True, help="Print every record's outcome as JSON.")
@_BATCH
@_LIMIT
def sync(spec_path: Path, dry_run: bool, as_json: bool, batch_size: int, limit: int | None) -> None:
    """Read every source document, plan, and write the changes to the target.

    Writes go in the target's largest batches, parents before children. Exit status 1 when any
    record failed (each failure is listed with its record key and the target's reason).
    """
    if dry_run:
        click.get_current_context().invoke(
            plan, spec_path=spec_path, as_json=as_json, changes_only=False, batch_size=batch_size, limit=limit
        )
        return
    from itertools import islice

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from fieldline.errors import FieldlineError
    from fieldline.plugins.manager import get_plugin_manager
    from fieldline.sync.adapter_builder import build_source, build_target
    from fieldline.sync.runner import Runner, RunReport

    manager = get_plugin_manager()
    spec = load_spec_or_exit(spec_path, manager)
    source = build_source(spec, manager)
    target = build_target(spec, manager)
    console = Console(stderr=as_json)
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("records"),
        TimeElapsedColumn(),
        console=console,
        transient=as_json,
    )
    try:
        documents = source.read()
        if limit is not None:
            documents = islice(documents, limit)
        with progress:
            task = progress.add_task(f"sync {spec.name}", total=None)

            def advance(batch: RunReport) -> None:
                progress.advance(task, len(batch.outcomes))

            report = Runner(spec, target, plugin_manager=manager, batch_size=batch_size).sync(
                documents, on_batch=advance
            )
    except FieldlineError as exc:
        done = exc.context.get("report")
        if isinstance(done, RunReport):  # the run stopped (budget, transport): say what was done
            _print_report(console, spec.name, done, as_json=as_json, stopped=str(exc))
        raise
    finally:
        source.close()
        target.close()
    _print_report(console, spec.name, report, as_json=as_json)
    if not report.ok:
        sys.exit(1)


def _print_report(
    console: Console, name: str, report: RunReport, *, as_json: bool, stopped: str | None = None
) -> None:
    """The summary (and failed records) of a sync; ``stopped``: why it ended early."""
    from rich.console import Console
    from rich.table import Table

    from fieldline.commands.render import print_json, summary_table

    if as_json:
        print_json(
            Console(),
            {
                **({"stopped": stopped} if stopped is not None else {}),
                "counts": report.counts,
                "outcomes": [
                    {
                        "record": outcome.record,
                        "key": outcome.key,
                        "object": outcome.object,
                        "action": outcome.action.value,
                        "target_id": outcome.target_id,
                        "written": dict(outcome.written),
                        "error": outcome.error,
                        "retriable": outcome.retriable,
                        "stage": outcome.stage,
                    }
                    for outcome in report.outcomes
                ],
            },
        )
        return
    title = f"sync: {name}" + (" (stopped early: what was done)" if stopped is not None else "")
    console.print(summary_table(report.counts, title=title))
    if report.failures:
        failures = Table(title="failed records")
        for column in ("record", "key", "stage", "retriable", "error"):
            failures.add_column(column, overflow="fold")
        for outcome in report.failures:
            failures.add_row(
                outcome.record,
                outcome.key,
                outcome.stage or "",
                "yes" if outcome.retriable else "no",
                outcome.error or "",
            )
        console.print(failures)
