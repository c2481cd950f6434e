"""``fieldline sync``: one batch run of a spec, recorded in the connector logs.

Outcomes stream: each batch's go to the run store (``--db``, ``fieldline.db`` by default) and,
with ``--json``, to standard output as the batch ends; the command itself keeps only a bounded
summary, so a run of any size runs in flat memory. ``fieldline runs show ID`` has every record.
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import click

from fieldline.commands.spec_loading import load_spec_or_exit

if TYPE_CHECKING:
    from collections.abc import Iterator

    from rich.console import Console

    from fieldline.contracts import SourceAdapter, SourceDocument, Stop, WriteBackResult
    from fieldline.queue.sync_runs import SyncRunLog
    from fieldline.spec.model import Spec
    from fieldline.sync.runner import RecordOutcome, RunReport

DEFAULT_DB = "fieldline.db"
WIDE = 200  # columns for tables without a terminal (CI logs): ids and keys are never folded


def console_for(*, stderr: bool = False) -> Console:
    """A rich console: on a terminal its width; without one a wide plain one."""
    from rich.console import Console

    console = Console(stderr=stderr)
    return console if console.is_terminal else Console(stderr=stderr, width=WIDE)


@click.command()
@click.argument("spec_path", metavar="SPEC", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Plan only (same as `fieldline plan`).")
@click.option("--json", "as_json", is_flag=True, help="Print every record's outcome as JSON, as batches end.")
@click.option(
    "--batch-size",
    default=500,
    type=click.IntRange(1, 100_000),
    help="Documents per batch (one round of lookups and writes each).",
)
@click.option("--limit", type=click.IntRange(1), help="Read at most this many source documents.")
@click.option(
    "--key",
    "keys",
    multiple=True,
    help="Only the document with this key (repeatable): test on a couple of records first.",
)
@click.option(
    "--where", help="Only documents for which this expression is true, e.g. \"industry == 'retail'\"."
)
@click.option(
    "--mode",
    "modes",
    multiple=True,
    metavar="RECORD=MODE",
    help="Run a record in another mode than the spec's: upsert, update_only, create_only, disabled"
    " (repeatable).",
)
@click.option(
    "--db",
    default=DEFAULT_DB,
    envvar="FIELDLINE_DB",
    help="Where runs are recorded (the service's SQLite file or storage URL).",
)
@click.option(
    "--retention-days",
    default=30.0,
    type=click.FloatRange(0),
    help="Forget recorded runs older than this (0: keep everything).",
)
def sync(
    spec_path: Path,
    *,
    dry_run: bool,
    as_json: bool,
    batch_size: int,
    limit: int | None,
    keys: tuple[str, ...],
    where: str | None,
    modes: tuple[str, ...],
    db: str,
    retention_days: float,
) -> None:
    """Read every source document, plan, and write the changes to the target.

    Writes go in the target's largest batches, parents before children. Every run is recorded
    (`fieldline runs`). Exit status 1 when any record failed (each failure is listed with its
    record key and the target's reason); 2 when the run stopped early (API budget or daily
    limit: what was done is listed) or failed.
    """
    if dry_run:
        from fieldline.commands.run import plan

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
    from fieldline.plugins.manager import get_plugin_manager
    from fieldline.queue.storage import open_storage, storage_url
    from fieldline.sync.selection import parse_modes, with_modes

    manager = get_plugin_manager()
    spec = load_spec_or_exit(spec_path, manager)
    spec = with_modes(spec, parse_modes(spec, modes))
    console = console_for(stderr=as_json)
    with open_storage(storage_url(db), plugin_manager=manager) as storage:
        report, run_id = _run(
            spec,
            manager,
            storage.sync_runs,
            console,
            as_json=as_json,
            db=db,
            retention_days=retention_days,
            options={
                "limit": limit,
                "keys": list(keys),
                "where": where,
                "modes": list(modes),
                "batch_size": batch_size,
            },
        )
    if not as_json:
        _print_report(console, spec.name, report, run_id=run_id)
    if report.stopped is not None:
        hint = "run sync again later: what was written is found and not written twice"
        console.print(f"[bold]stopped early[/bold]: {report.stopped.message}\n{hint}")
        sys.exit(2)
    if not report.ok or report.write_back_failures:
        sys.exit(1)


def _run(
    spec: Spec,
    manager: Any,
    log: SyncRunLog | None,
    console: Console,
    *,
    as_json: bool,
    db: str,
    retention_days: float,
    options: dict[str, Any],
) -> tuple[RunReport, int | None]:
    """Run ``spec`` with the command line's ``options``, recording it in ``log``: the bounded
    report and the run's id."""
    from fieldline.commands.progress import RunProgress
    from fieldline.errors import FieldlineError
    from fieldline.plugins.manager import function_registry
    from fieldline.sync.adapter_builder import build_source, build_target
    from fieldline.sync.connector_log import RunRecorder
    from fieldline.sync.runner import Runner, RunReport
    from fieldline.sync.selection import select_documents

    source = build_source(spec, manager)
    try:
        target = build_target(spec, manager)
    except BaseException:
        source.close()
        raise
    if log is None:
        console.print(
            f"[yellow]note[/yellow]: the storage at {db!r} keeps no connector logs; this run is not recorded"
        )
    elif retention_days:
        log.purge(time.time() - retention_days * 86_400)
    recorder = RunRecorder(log, spec, options={k: v for k, v in options.items() if v}) if log else None
    report = RunReport.streaming()  # the batches finished, bounded, for the summary
    out = _JsonOutcomes(sys.stdout) if as_json else None
    missing: list[str] = []
    read = 0
    keys, where, limit = options["keys"], options["where"], options["limit"]
    try:
        documents = select_documents(
            source, keys=keys, where=where, functions=function_registry(manager), limit=limit, missing=missing
        )
        total = _total(source, keys=keys, where=where, limit=limit)

        def counted() -> Iterator[SourceDocument]:
            nonlocal read
            for document in documents:
                read += 1
                yield document

        with RunProgress(f"sync {spec.name}", total, console=console) as progress:

            def on_batch(batch: RunReport) -> None:
                report.extend(batch)
                if recorder is not None:
                    recorder.on_batch(batch)
                if out is not None:
                    out.write(batch.outcomes)

            runner = Runner(
                spec, target, source=source, plugin_manager=manager, batch_size=options["batch_size"]
            )
            report.stopped = runner.sync(
                counted(), on_batch=on_batch, on_planned=lambda: progress.update(read), keep_outcomes=False
            ).stopped
    except FieldlineError as exc:
        if recorder is not None:
            recorder.fail(str(exc), report)
        if out is not None:  # a transport failure after some batches: what they did is out
            out.close(report)
        elif report.summary is not None and report.summary.records:
            _print_report(console, spec.name, report, failed=True)
        raise
    finally:
        source.close()
        target.close()
    if recorder is not None:
        recorder.finish(report)
    for key in missing:
        console.print(f"[yellow]no document[/yellow] with key {key!r} in the source")
    run_id = recorder.run_id if recorder is not None else None
    if out is not None:
        out.close(report, run_id=run_id)
    return report, run_id


def _total(
    source: SourceAdapter, *, keys: tuple[str, ...], where: str | None, limit: int | None
) -> int | None:
    """How many documents the run will read, when that is known without reading them."""
    if keys:
        return len(set(keys))
    count = getattr(source, "count", None)
    if where is not None or not callable(count):
        return limit
    total = int(count())
    return min(total, limit) if limit is not None else total


class _JsonOutcomes:
    """``{"outcomes": [...], "counts": ..., ...}`` written as the run goes: each batch's outcomes
    as it ends, the summary at the end (valid JSON, in flat memory)."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self._first = True
        stream.write('{"outcomes": [')

    def write(self, outcomes: list[RecordOutcome]) -> None:
        for outcome in outcomes:
            self.stream.write(
                ("" if self._first else ",\n ") + json.dumps(_outcome_json(outcome), default=str)
            )
            self._first = False
        self.stream.flush()

    def close(self, report: RunReport, *, run_id: int | None = None) -> None:
        tail: dict[str, Any] = {"counts": report.counts}
        if run_id is not None:
            tail["run_id"] = run_id
        if report.stopped is not None:
            tail["stopped"] = _stop_json(report.stopped)
        summary = report.summary
        if summary is not None and summary.write_backs:
            tail["write_back"] = {
                "counts": dict(summary.write_backs),
                "failures": [_write_back_json(result) for result in summary.write_back_failures],
            }
        self.stream.write("]," + json.dumps(tail, default=str)[1:] + "\n")
        self.stream.flush()


def _outcome_json(outcome: RecordOutcome) -> dict[str, Any]:
    return {
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


def _print_report(
    console: Console, name: str, report: RunReport, *, failed: bool = False, run_id: int | None = None
) -> None:
    """The summary (and failed records, the first thousand) of a sync, with why it ended early
    if it did; ``failed``: the run failed after these batches."""
    from rich.table import Table

    from fieldline.commands.render import summary_table

    early = report.stopped is not None or failed
    title = f"sync: {name}" + (" (ended early: what was done)" if early else "")
    console.print(summary_table(report.counts, title=title))
    failures = report.failures
    if failures:
        table = Table(title="failed records")
        for column in ("record", "key", "stage", "retriable"):
            table.add_column(column, no_wrap=True)
        table.add_column("error", overflow="fold")  # wrapped, never cut
        for outcome in failures:
            table.add_row(
                outcome.record,
                outcome.key,
                outcome.stage.value if outcome.stage is not None else "",
                "yes" if outcome.retriable else "no",
                outcome.error or "",
            )
        console.print(table)
        if report.failed_count > len(failures):
            console.print(f"... and {report.failed_count - len(failures)} more failed records")
    summary = report.summary
    if summary is not None and summary.write_backs:
        counts = Counter(summary.write_backs)
        console.print(
            "write back to the source: " + ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
        )
    for result in report.write_back_failures:
        console.print(
            f"[bold red]write-back failed[/bold red] {result.key} {result.path}: {result.error}\n"
            "the target write stands; run sync again to retry the write-back"
        )
    if run_id is not None:
        console.print(
            f"run {run_id} recorded: `fieldline runs show {run_id}` (add --errors for the failures)"
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
