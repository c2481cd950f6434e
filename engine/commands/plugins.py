"""``fieldline plugins``: what is loaded, which hooks each plugin implements, what it adds."""

from __future__ import annotations

import click


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def plugins(as_json: bool) -> None:
    """List loaded plugins, the hooks each implements, and the adapters, functions and
    normalizers they contribute."""
    from rich.console import Console
    from rich.table import Table

    from fieldline.commands.render import print_json
    from fieldline.plugins.manager import (
        adapter_registry,
        function_registry,
        get_plugin_manager,
        normalizer_registry,
    )

    manager = get_plugin_manager()
    loaded: list[dict[str, str]] = []
    for name, plugin in sorted(manager.list_name_plugin(), key=lambda item: str(item[0])):
        hooks = sorted(caller.name for caller in manager.get_hookcallers(plugin) or ())
        module = getattr(plugin, "__name__", type(plugin).__name__)
        distribution = next(
            (
                dist.project_name
                for registered, dist in manager.list_plugin_distinfo()
                if registered is plugin
            ),
            "",
        )
        loaded.append(
            {"name": name, "module": module, "distribution": distribution, "hooks": ", ".join(hooks)}
        )
    adapters = [
        {"name": info.name, "kind": info.kind.value, "description": info.description}
        for info in adapter_registry(manager).values()
    ]
    registry = function_registry(manager)
    functions = sorted(registry.names)
    normalizers = sorted(normalizer_registry(manager))
    if as_json:
        print_json(
            Console(),
            {"plugins": loaded, "adapters": adapters, "functions": functions, "normalizers": normalizers},
        )
        return
    console = Console()
    table = Table(title="plugins")
    for column in ("name", "module", "distribution", "hooks"):
        table.add_column(column, overflow="fold")
    for entry in loaded:
        table.add_row(entry["name"], entry["module"], entry["distribution"], entry["hooks"])
    console.print(table)
    adapter_table = Table(title="adapters")
    for column in ("name", "kind", "description"):
        adapter_table.add_column(column)
    for adapter in sorted(adapters, key=lambda item: (item["name"], item["kind"])):
        adapter_table.add_row(adapter["name"], adapter["kind"], adapter["description"])
    console.print(adapter_table)
    console.print(f"[bold]functions:[/bold] {', '.join(functions)}")
    console.print(f"[bold]normalizers:[/bold] {', '.join(normalizers)}")
