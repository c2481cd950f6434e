"""``fieldline plugins``: what is loaded, which hooks each plugin implements, what it adds, and
which plugins failed or were disabled."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from rich.table import Table


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def plugins(as_json: bool) -> None:
    """List loaded plugins, the hooks each implements, the adapters, functions, normalizers and
    emulators they contribute, and the plugins that failed or were disabled."""
    from rich.console import Console

    from fieldline.commands.render import print_json
    from fieldline.plugins.manager import (
        adapter_registry,
        collect,
        emulator_registry,
        function_registry,
        get_plugin_manager,
        normalizer_registry,
    )

    manager = get_plugin_manager()
    adapters = [
        {"name": info.name, "kind": info.kind.value, "description": info.description}
        for info in adapter_registry(manager).values()
    ]
    functions = sorted(function_registry(manager).names)
    normalizers = sorted(normalizer_registry(manager))
    emulators = sorted(emulator_registry(manager))
    # Call the remaining hooks too, so a plugin that raises in one of them is listed as failed.
    collect(manager, "register_storage_backends")
    collect(manager, "register_commands", cli=_probe_group())
    loaded: list[dict[str, str]] = []
    for name, plugin in sorted(manager.list_name_plugin(), key=lambda item: str(item[0])):
        source = manager.origins.get(name)
        loaded.append(
            {
                "name": name,
                "module": getattr(plugin, "__name__", type(plugin).__name__),
                "distribution": source.distribution if source else "",
                "hooks": ", ".join(sorted(caller.name for caller in manager.get_hookcallers(plugin) or ())),
            }
        )
    failed = [
        {"name": f.name, "distribution": f.distribution, "stage": f.stage, "error": f.error}
        for f in manager.failures
    ]
    disabled = [{"name": source.name, "distribution": source.distribution} for source in manager.skipped]
    if as_json:
        document: dict[str, Any] = {
            "plugins": loaded,
            "failed": failed,
            "disabled": disabled,
            "adapters": adapters,
            "functions": functions,
            "normalizers": normalizers,
            "emulators": emulators,
        }
        print_json(Console(), document)
        return
    console = Console()
    console.print(_table("plugins", ("name", "module", "distribution", "hooks"), loaded))
    if failed:
        title = "failed plugins (left out; FIELDLINE_DISABLE_PLUGINS=name skips one)"
        console.print(_table(title, ("name", "distribution", "stage", "error"), failed))
    if disabled:
        names = ", ".join(f"{entry['name']} ({entry['distribution']})" for entry in disabled)
        console.print(f"[bold]disabled:[/bold] {names}")
    by_name = sorted(adapters, key=lambda item: (item["name"], item["kind"]))
    console.print(_table("adapters", ("name", "kind", "description"), by_name))
    console.print(f"[bold]functions:[/bold] {', '.join(functions)}")
    console.print(f"[bold]normalizers:[/bold] {', '.join(normalizers)}")
    console.print(f"[bold]emulators:[/bold] {', '.join(emulators)}")


def _table(title: str, columns: Sequence[str], rows: Iterable[Mapping[str, str]]) -> Table:
    """A table of ``rows`` (dicts) with these columns; long names fold, never cut."""
    from rich.table import Table

    table = Table(title=title)
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*(row[column] for column in columns))
    return table


def _probe_group() -> click.Group:
    """A throwaway group for plugins' ``register_commands`` (the real one is not built here)."""
    from fieldline.cli import LazyGroup

    return LazyGroup(name="probe", lazy={})
