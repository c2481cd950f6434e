"""``fieldline plan``: the dry run of a spec's source and target (``sync`` is in :mod:`.batch`)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from fieldline.commands.spec_loading import load_spec_or_exit

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
    value and the strategy's decision. Records the target's pre-write checks would refuse
    (too long, required, picklist, type) are ``invalid``. Records are printed batch by batch as
    they are planned, the summary at the end. Exit status 1 when a record is in error or invalid.
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
    if tally.errors:  # records in error or invalid
        sys.exit(1)
