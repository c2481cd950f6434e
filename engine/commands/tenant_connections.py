"""``fieldline connections list|check``: the tenants' target connections a spec names."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from fieldline.commands.spec_loading import load_spec_or_exit

if TYPE_CHECKING:
    from fieldline.sync.tenants import Connections

__all__ = ["connections"]

_SPEC = click.argument("spec_path", metavar="SPEC", type=click.Path(path_type=Path, dir_okay=False))


@click.group()
def connections() -> None:
    """Each tenant's target connection (the spec's `connections:` file or folder)."""


@connections.command("list")
@_SPEC
def list_connections(spec_path: Path) -> None:
    """Show every tenant and its settings (secrets as references, never their values)."""
    from rich.console import Console
    from rich.table import Table

    loaded = _load(spec_path)
    table = Table(title=f"connections: {loaded.path}")
    table.add_column("tenant")
    table.add_column("settings")
    for connection in loaded:
        described = connection.described()
        table.add_row(connection.tenant, "\n".join(f"{key}: {value}" for key, value in described.items()))
    Console().print(table)
    click.echo(f"{len(loaded.tenants)} tenants")


@connections.command()
@_SPEC
@click.option("--tenant", "only", multiple=True, help="Check only this tenant (repeatable).")
def check(spec_path: Path, only: tuple[str, ...]) -> None:
    """Log in with each tenant's connection and describe the spec's first object.

    Exit status 1 when a tenant cannot (the reason is shown per tenant).
    """
    from fieldline.errors import FieldlineError
    from fieldline.plugins.manager import get_plugin_manager
    from fieldline.sync.adapter_builder import build_target

    manager = get_plugin_manager()
    spec = load_spec_or_exit(spec_path, manager)
    loaded = _load(spec_path)
    unknown = sorted(set(only) - set(loaded.tenants))
    if unknown:
        raise click.UsageError(f"no connection for tenant(s) {', '.join(unknown)} in {loaded.path}")
    object_name = spec.records[0].object
    failed = 0
    for connection in loaded:
        if only and connection.tenant not in only:
            continue
        try:
            target = build_target(spec, manager, tenant=connection.tenant)
            try:
                description = target.describe(object_name)
            finally:
                target.close()
        except FieldlineError as exc:
            failed += 1
            click.echo(f"{connection.tenant}: FAILED: {exc}")
        else:
            click.echo(f"{connection.tenant}: ok ({object_name}: {len(description.fields)} fields)")
    if failed:
        click.echo(f"{failed} tenant(s) cannot connect; their events wait in the queue until fixed", err=True)
        sys.exit(1)


def _load(spec_path: Path) -> Connections:
    from fieldline.plugins.manager import get_plugin_manager
    from fieldline.sync.adapter_builder import spec_connections

    spec = load_spec_or_exit(spec_path, get_plugin_manager())
    loaded = spec_connections(spec)
    if loaded is None:
        raise click.UsageError(f"{spec_path}: the spec has no `connections:` (tenants' connections)")
    return loaded
