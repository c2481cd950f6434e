"""``fieldline runs`` and ``fieldline runs show ID``: the connector logs of ``sync`` runs."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from fieldline.commands.batch import DEFAULT_DB, console_for
from fieldline.errors import ConfigError

if TYPE_CHECKING:
    from rich.table import Table

    from fieldline.queue.storage import Storage
    from fieldline.queue.sync_runs import SyncRun, SyncRunLog, SyncRunRecord

_DB = click.option(
    "--db",
    default=DEFAULT_DB,
    envvar="FIELDLINE_DB",
    help="The SQLite file (or storage URL) `fieldline sync` records runs in.",
)


def open_runs(db: str) -> tuple[Storage, SyncRunLog]:
    """The storage at ``db`` (which must exist) and its connector logs."""
    from fieldline.queue.storage import open_storage, storage_url

    if "://" not in db and not Path(db).is_file():
        raise ConfigError(
            f"no run database at {db!r}",
            hint="pass the --db that `fieldline sync` used (or set FIELDLINE_DB)",
        )
    storage = open_storage(storage_url(db))
    if storage.sync_runs is None:
        storage.close()
        raise ConfigError(
            f"the storage at {db!r} keeps no connector logs", hint="record runs in a SQLite file"
        )
    return storage, storage.sync_runs


def when(epoch: float | None) -> str:
    if epoch is None:
        return ""
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def _took(run: SyncRun) -> str:
    return f"{run.ended_at - run.started_at:.1f}s" if run.ended_at is not None else ""


def _counts(run: SyncRun) -> str:
    return ", ".join(f"{count} {name}" for name, count in run.counts.items() if count)


def runs_table(runs: list[SyncRun], *, title: str = "sync runs") -> Table:
    from rich.table import Table

    table = Table(title=title)
    for column in ("id", "spec", "started (UTC)", "took", "status", "hash"):
        table.add_column(column, no_wrap=True)
    table.add_column("counts")
    table.add_column("error", overflow="fold")  # wrapped, never cut
    for run in runs:
        table.add_row(
            str(run.id),
            run.spec,
            when(run.started_at),
            _took(run),
            run.status.value,
            run.spec_hash,
            _counts(run),
            run.error or "",
        )
    return table


def latest_runs_table(latest: dict[str, tuple[SyncRun | None, SyncRun | None]]) -> Table:
    """Per spec: its last successful and its last failed (or stopped) sync run."""
    from rich.table import Table

    table = Table(title="sync runs: last successful and last failed per spec", title_justify="left")
    for column in ("spec", "last ok (UTC)", "run", "last failed (UTC)", "run", "status"):
        table.add_column(column, no_wrap=True)
    table.add_column("error", overflow="fold")
    for spec, (good, bad) in sorted(latest.items()):
        table.add_row(
            spec,
            when(good.started_at) if good else "never",
            str(good.id) if good else "",
            when(bad.started_at) if bad else "never",
            str(bad.id) if bad else "",
            bad.status.value if bad else "",
            (bad.error or "") if bad else "",
        )
    return table


def records_table(records: list[SyncRunRecord], *, title: str) -> Table:
    from rich.table import Table

    table = Table(title=title)
    for column in ("#", "record", "key", "object", "action", "target id", "stage"):
        table.add_column(column, no_wrap=True)
    table.add_column("error", overflow="fold")
    for record in records:
        table.add_row(
            str(record.seq),
            record.record,
            record.key,
            record.object,
            "failed" if record.error else record.action,
            record.target_id or "",
            record.stage or "",
            record.error or "",
        )
    return table


@click.group(invoke_without_command=True)
@_DB
@click.option("--spec", "spec_name", help="Only runs of this spec (its name).")
@click.option("--limit", default=20, type=click.IntRange(1))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per run, per line.")
@click.pass_context
def runs(ctx: click.Context, db: str, spec_name: str | None, limit: int, as_json: bool) -> None:
    """List recorded `sync` runs, newest first: when, spec and its hash, status, counts, error."""
    ctx.ensure_object(dict)
    ctx.obj["db"] = db
    if ctx.invoked_subcommand is not None:
        return
    storage, log = open_runs(db)
    with storage:
        found = log.runs(spec=spec_name, limit=limit)
    if as_json:
        for run in found:
            click.echo(json.dumps(run.as_json(), sort_keys=True))
        return
    console_for().print(runs_table(found))


@runs.command()
@click.argument("run_id", type=int)
@click.option("--errors", "errors_only", is_flag=True, help="Only the records that failed.")
@click.option("--key", help="Only this record key or document key.")
@click.option("--limit", type=click.IntRange(1), help="At most this many records.")
@click.option("--json", "as_json", is_flag=True, help="The run, then one JSON object per record, per line.")
@click.pass_context
def show(
    ctx: click.Context, run_id: int, *, errors_only: bool, key: str | None, limit: int | None, as_json: bool
) -> None:
    """Show one run and its records' outcomes (with --errors, the failures only)."""
    storage, log = open_runs(ctx.obj["db"])
    with storage:
        run = log.run(run_id)
        if run is None:
            raise ConfigError(f"no run {run_id} in {ctx.obj['db']!r}", hint="`fieldline runs` lists them")
        records = log.records(run_id, errors_only=errors_only, key=key, limit=limit)
    if as_json:
        click.echo(json.dumps(run.as_json(), sort_keys=True))
        for record in records:
            click.echo(json.dumps(record.as_json(), sort_keys=True, default=str))
        return
    console = console_for()
    console.print(runs_table([run], title=f"run {run.id}"))
    which = "failed records" if errors_only else "records"
    console.print(records_table(records, title=f"{which}{f' with key {key}' if key else ''}"))
    if not records:
        console.print("no records" + (" failed" if errors_only else ""))
    sys.stdout.flush()
