"""``fieldline lookup SPEC NAME [VALUE]``: answer a spec's lookup from the command line.

The same answer as ``GET /lookup/NAME/VALUE`` of ``fieldline serve`` (without the cache, and
without an API key: the operator runs it with the spec's own credentials). Without a value it
describes the lookup.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

__all__ = ["lookup"]


@click.command()
@click.argument("spec_path", metavar="SPEC", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("name")
@click.argument("value", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print the answer as JSON.")
def lookup(spec_path: Path, name: str, value: str | None, as_json: bool) -> None:
    """Find the record of lookup NAME whose index field equals VALUE and print its fields.

    Without VALUE, describe the lookup (object, index field, returned fields with types).
    Exit status 0 when found (or described), 1 when nothing or several records match, 2 when
    the value is refused or the source is failing.
    """
    from dataclasses import replace

    from rich.console import Console
    from rich.table import Table

    from fieldline.commands.render import format_value, print_json
    from fieldline.commands.spec_loading import load_spec_or_exit
    from fieldline.errors import FieldlineError
    from fieldline.lookups.directory import build_directory
    from fieldline.plugins.manager import get_plugin_manager

    manager = get_plugin_manager()
    spec = load_spec_or_exit(spec_path, manager)
    if name not in spec.lookups:
        known = ", ".join(sorted(spec.lookups)) or "none"
        raise click.UsageError(f"{spec_path}: no lookup {name!r}; the spec declares: {known}")
    only = replace(spec, lookups={name: replace(spec.lookups[name], cache_ttl=0.0)})
    try:
        directory = build_directory([only], manager, pool_size=1)
    except FieldlineError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    try:
        runner = directory.runners[name]
        answer = runner.describe() if value is None else runner.answer(value)
    finally:
        directory.close()
    console = Console()
    body = dict(answer.body)
    if as_json:
        print_json(console, {"status": answer.status, **body})
    elif answer.status == 200 and value is None:
        table = Table(title=f"lookup {name}: {body['object']} by {body['index']['field']}")
        for column in ("field", "type", "reads"):
            table.add_column(column)
        for field_name, entry in body["fields"].items():
            table.add_row(field_name, str(entry.get("type") or ""), ", ".join(entry.get("reads") or ()))
        console.print(table)
    elif answer.status == 200:
        table = Table(title=f"{body['object']} {body['id']}")
        table.add_column("field")
        table.add_column("value")
        for field_name, field_value in body["fields"].items():
            table.add_row(field_name, format_value(field_value))
        console.print(table)
    else:
        detail = f" ({', '.join(body['ids'])})" if body.get("ids") else ""
        retry = f"; retry after {answer.retry_after:.0f} s" if answer.retry_after else ""
        click.echo(f"{answer.status}: {body.get('error')}{detail}{retry}", err=True)
    if answer.status in (404, 409):
        sys.exit(1)
    if answer.status != 200:
        sys.exit(2)
