"""``fieldline plugins``: what is loaded, which hooks each plugin implements, what it adds, and
which plugins failed or were disabled."""

from __future__ import annotations

from typing import Any

import click


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def plugins(as_json: bool) -> None:
    """List loaded plugins, the hooks each implements, the adapters, functions, normalizers and
    emulators they contribute, and the plugins that failed or were disabled."""
    from rich.console import Console
    from rich.table import Table

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
    table = Table(title="plugins")
    for column in ("name", "module", "distribution", "hooks"):
        table.add_column(column, overflow="fold")
    for entry in loaded:
        table.add_row(entry["name"], entry["module"], entry["distribution"], entry["hooks"])
    console.print(table)
    if failed:
        failed_table = Table(title="failed plugins (left out; FIELDLINE_DISABLE_PLUGINS=name skips one)")
        for column in ("name", "distribution", "stage", "error"):
            failed_table.add_column(column, overflow="fold")
        for failure in failed:
            failed_table.add_row(failure["name"], failure["distribution"], failure["stage"], failure["error"])
        console.print(failed_table)
    if disabled:
        names = ", ".join(f"{entry['name']} ({entry['distribution']})" for entry in disabled)
        console.print(f"[bold]disabled:[/bold] {names}")
    adapter_table = Table(title="adapters")
    for column in ("name", "kind", "description"):
        adapter_table.add_column(column)
    for adapter in sorted(adapters, key=lambda item: (item["name"], item["kind"])):
        adapter_table.add_row(adapter["name"], adapter["kind"], adapter["description"])
    console.print(adapter_table)
    console.print(f"[bold]functions:[/bold] {', '.join(functions)}")
    console.print(f"[bold]normalizers:[/bold] {', '.join(normalizers)}")
    console.print(f"[bold]emulators:[/bold] {', '.join(emulators)}")


def _probe_group() -> click.Group:
    """A throwaway group for plugins' ``register_commands`` (the real one is not built here)."""
    from fieldline.cli import LazyGroup

    return LazyGroup(name="probe", lazy={})
