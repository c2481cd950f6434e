"""Registers the salesforce target adapter."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fieldline.contracts import AdapterInfo, AdapterKind
from fieldline.plugins.hookspecs import hookimpl


def _factory(options: Mapping[str, Any]) -> Any:
    # Imported on use so loading plugins (`fieldline --help`) does not import simple-salesforce.
    from fieldline.adapters.salesforce.target import create_target

    return create_target(options)


@hookimpl
def register_adapters() -> Sequence[AdapterInfo]:
    from fieldline.adapters.salesforce.options import OPTIONS_SCHEMA

    return (
        AdapterInfo(
            name="salesforce",
            kind=AdapterKind.TARGET,
            factory=_factory,
            options_schema=OPTIONS_SCHEMA,
            description="Salesforce REST (sObject Collections, Bulk API 2.0) via simple-salesforce",
        ),
    )
