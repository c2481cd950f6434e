"""Registers ``fieldline demo`` (:mod:`fieldline.adapters.demo`), lazily: the demo's imports
(httpx, rich, the emulators) happen only when it runs."""

from __future__ import annotations

from fieldline.cli import LazyCommand, LazyGroup
from fieldline.plugins.hookspecs import hookimpl


@hookimpl
def register_commands(cli: LazyGroup) -> None:
    cli.add_lazy_command(
        "demo", LazyCommand("fieldline.adapters.demo:demo", "Run the PassFort -> Salesforce pair end to end.")
    )
