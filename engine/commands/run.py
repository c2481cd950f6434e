"""``fieldline plan`` (dry run) and ``fieldline sync`` (batch run) for a spec's source and target."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

import click

from fieldline.commands.spec_loading import load_spec_or_exit

if TYPE_CHECKING:
    from rich.console import Console

    from fieldline.contracts import Stop, WriteBackResult
    from fieldline.sync.runner import RunReport

_SPEC = click.argument("spec_path", metavar="SPEC", type=click.Path(path_type=Path, dir_okay=False))
_BATCH = click.option(
    "--batch-size",
    default=500,
    type=click.IntRange(1, 100_000),
    help="Documents per batch (one round of lookups and writes each).",
)
_LIMIT = click.option("--limit", type=click.IntRange(1), help="Read at most this many source documents.")


@click.command()
@_SPEC
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON Lines: one entry a line.")
@click.option("--changes-only", is_flag=True, help="Show only fields that would be written.")
@click.option(
    "--only",
    type=click.Choice(["all", "changes", "errors"]),
    default="all",
    show_default=True,
    help="Show only records that would be written (changes) or cannot be planned (errors).",
)
@click.option(
    "--limit-rows",
    type=click.IntRange(0),
    help="Show at most this many records; the summary still counts every one.",
)
@_BATCH
@_LIMIT
def plan(
    *,
    spec_path: Path,
    as_json: bool,
    changes_only: bool,
    only: str,
    limit_rows: int | None,
    batch_size: int,
    limit: int | None,
) -> None:
    """Show what `sync` would write, field by field, and why — without writing.

    Every record gets an action (create, update, noop, skip, error); every field its old and new
    value and the strategy's decision. Records are printed batch by batch as they are planned,
    the summary at the end. Exit status 1 when a record is in error.
    """
    from itertools import islice

    from fieldline.commands.plan_stream import JsonLinesPlanWriter, Only, TextPlanWriter, write_plan
    from fieldline.plugins.manager import get_plugin_manager
    from fieldline.sync.adapter_builder import build_source, build_target
    from fieldline.sync.runner import Runner

    manager = get_plugin_manager()
    spec = load_spec_or_exit(spec_path, manager)
    source = build_source(spec, manager)
    target = build_target(spec, manager)
    writer: JsonLinesPlanWriter | TextPlanWriter
    if as_json:
        writer = JsonLinesPlanWriter(sys.stdout, only=Only(only), limit_rows=limit_rows)
    else:
        from rich.console import Console

        writer = TextPlanWriter(
            Console(),
            title=f"plan: {spec.name}",
            changes_only=changes_only,
            only=Only(only),
            limit_rows=limit_rows,
        )
    try:
        documents = source.read()
        if limit is not None:
            documents = islice(documents, limit)
        runner = Runner(spec, target, plugin_manager=manager, batch_size=batch_size)
        tally = write_plan(runner.dry_run_batches(documents), writer)
    finally:
        source.close()
        target.close()
    if tally.errors:
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
    record failed (each failure is listed with its record key and the target's reason); 2 when
    the run stopped early (API budget or daily limit: what was done is listed) or failed.
    """
    if dry_run:
        click.get_current_context().invoke(
            plan,
            spec_path=spec_path,
            as_json=as_json,
            changes_only=False,
            only="all",
            limit_rows=None,
            batch_size=batch_size,
            limit=limit,
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
    done = RunReport()  # the batches finished, for the report when a later one fails
    try:
        documents = source.read()
        if limit is not None:
            documents = islice(documents, limit)
        with progress:
            task = progress.add_task(f"sync {spec.name}", total=None)

            def advance(batch: RunReport) -> None:
                done.extend(batch)
                progress.advance(task, len(batch.outcomes))

            runner = Runner(spec, target, source=source, plugin_manager=manager, batch_size=batch_size)
            report = runner.sync(documents, on_batch=advance)
    except FieldlineError:
        if done.outcomes:  # a transport failure after some batches: say what they did
            _print_report(console, spec.name, done, as_json=as_json, failed=True)
        raise
    finally:
        source.close()
        target.close()
    _print_report(console, spec.name, report, as_json=as_json)
    if report.stopped is not None:
        hint = "run sync again later: what was written is found and not written twice"
        console.print(f"[bold]stopped early[/bold]: {report.stopped.message}\n{hint}")
        sys.exit(2)
    if not report.ok or report.write_back_failures:
        sys.exit(1)


def _print_report(
    console: Console, name: str, report: RunReport, *, as_json: bool, failed: bool = False
) -> None:
    """The summary (and failed records) of a sync, with why it ended early if it did;
    ``failed``: the run failed after these batches."""
    from rich.console import Console
    from rich.table import Table

    from fieldline.commands.render import print_json, summary_table

    if as_json:
        print_json(
            Console(),
            {
                **({"stopped": _stop_json(report.stopped)} if report.stopped is not None else {}),
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
                        "stage": outcome.stage.value if outcome.stage is not None else None,
                    }
                    for outcome in report.outcomes
                ],
                **(
                    {"write_back": [_write_back_json(result) for result in report.write_backs]}
                    if report.write_backs
                    else {}
                ),
            },
        )
        return
    early = report.stopped is not None or failed
    title = f"sync: {name}" + (" (ended early: what was done)" if early else "")
    console.print(summary_table(report.counts, title=title))
    if report.failures:
        failures = Table(title="failed records")
        for column in ("record", "key", "stage", "retriable", "error"):
            failures.add_column(column, overflow="fold")
        for outcome in report.failures:
            failures.add_row(
                outcome.record,
                outcome.key,
                outcome.stage.value if outcome.stage is not None else "",
                "yes" if outcome.retriable else "no",
                outcome.error or "",
            )
        console.print(failures)
    if report.write_backs:
        counts = Counter(result.status.value for result in report.write_backs)
        console.print(
            "write back to the source: " + ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
        )
    for result in report.write_back_failures:
        console.print(
            f"[bold red]write-back failed[/bold red] {result.key} {result.path}: {result.error}\n"
            "the target write stands; run sync again to retry the write-back"
        )


def _write_back_json(result: WriteBackResult) -> dict[str, object]:
    return {
        "key": result.key,
        "path": result.path,
        "status": result.status.value,
        "error": result.error,
        "retriable": result.retriable,
    }


def _stop_json(stop: Stop) -> dict[str, object]:
    return {"reason": stop.reason.value, "message": stop.message, "retry_after": stop.retry_after}
