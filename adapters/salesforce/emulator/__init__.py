"""A faithful Salesforce REST emulator (Starlette) for tests, demos and benchmarks.

The public surface is re-exported lazily, so importing the package (e.g. for the CLI's
``--help``) does not import Starlette::

    from fieldline.adapters.salesforce.emulator import running_emulator
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "EmulatorHandle",
    "EmulatorSettings",
    "Org",
    "create_app",
    "load_org",
    "org_connection",
    "running_emulator",
    "running_orgs",
]

_HOMES = {
    "EmulatorHandle": "server",
    "EmulatorSettings": "state",
    "Org": "org",
    "create_app": "server",
    "load_org": "org",
    "running_emulator": "server",
    "running_orgs": "server",
    "org_connection": "server",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)
