"""``fieldline plan``: the dry run of a spec's source and target (``sync`` is in :mod:`.batch`)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from fieldline.commands.spec_loading import load_spec_or_exit

if TYPE_CHECKING:
    pass

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
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
@click.option("--changes-only", is_flag=True, help="Show only fields that would be written.")
@_BATCH
@_LIMIT
def plan(spec_path: Path, as_json: bool, changes_only: bool, batch_size: int, limit: int | None) -> None:
    """Show what `sync` would write, field by field, and why — without writing.

    Every record gets an action (create, update, noop, skip, error); every field its old and new
    value and the strategy's decision. Records the target's pre-write checks would refuse
    (too long, required, picklist, type) are ``invalid``. Exit status 1 when a record is in
    error or invalid.
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
        result = Runner(spec, target, plugin_manager=manager, batch_size=batch_size).dry_run(documents)
    finally:
        source.close()
        target.close()
    console = Console()
    if as_json:
        print_json(console, result.as_json())
    else:
        console.print(plan_table(result, changes_only=changes_only, title=f"plan: {spec.name}"))
        console.print(summary_table(result.counts()))
    if result.by_action(Action.ERROR) or result.by_action(Action.INVALID):
        sys.exit(1)
