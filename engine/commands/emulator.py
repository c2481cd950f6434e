"""``fieldline emulator salesforce|passfort``: local API emulators over real HTTP."""

from __future__ import annotations

import click

from fieldline.cli import LazyGroup

EMULATORS: dict[str, tuple[str, str]] = {
    "salesforce": (
        "fieldline.adapters.salesforce.emulator.cli:salesforce",
        "Serve a Salesforce REST API emulator.",
    ),
    "passfort": (
        "fieldline.adapters.passfort.emulator.cli:passfort",
        "Serve a PassFort API emulator that delivers webhooks.",
    ),
}


@click.group(cls=LazyGroup, lazy=EMULATORS)
def emulator() -> None:
    """Run a local emulator of a source or target API (127.0.0.1 by default)."""
