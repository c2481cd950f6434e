"""``fieldline emulator <name>``: local API emulators over real HTTP, contributed by adapters
through the ``register_emulators`` hook."""

from __future__ import annotations

import click

from fieldline.cli import LazyGroup


def add_plugin_emulators(group: LazyGroup) -> None:
    from fieldline.plugins.manager import emulator_registry, get_plugin_manager

    for name, command in emulator_registry(get_plugin_manager()).items():
        group.add_lazy_command(name, command)


@click.group(cls=LazyGroup, lazy={}, extend=add_plugin_emulators)
def emulator() -> None:
    """Run a local emulator of a source or target API (127.0.0.1 by default).

    `fieldline plugins` lists which plugin contributes each emulator."""
