"""Registers the salesforce target and source adapters and ``fieldline emulator salesforce``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fieldline.cli import LazyCommand
from fieldline.contracts import AdapterContext, AdapterInfo, AdapterKind
from fieldline.plugins.hookspecs import hookimpl


def _factory(options: Mapping[str, Any], context: AdapterContext) -> Any:
    """Salesforce REST (sObject Collections, Bulk API 2.0) via simple-salesforce."""
    # Imported on use so loading plugins (`fieldline --help`) does not import simple-salesforce.
    from fieldline.adapters.salesforce.target import SalesforceTarget, create_target

    if context.connection is not None:  # one tenant's org: its settings, not the environment's
        from fieldline.adapters.salesforce.settings import settings_from_mapping

        return SalesforceTarget(options, settings=settings_from_mapping(context.connection))
    return create_target(options)


def _source_factory(options: Mapping[str, Any], context: AdapterContext) -> Any:
    """Records of one Salesforce object (SOQL with queryMore paging, Bulk API 2.0 query for large exports)."""
    del context  # the source reads no files either
    from fieldline.adapters.salesforce.source import create_source

    return create_source(options)


@hookimpl
def register_adapters() -> Sequence[AdapterInfo]:
    from fieldline.adapters.salesforce.options import OPTIONS_SCHEMA
    from fieldline.adapters.salesforce.source_options import SOURCE_OPTIONS_SCHEMA

    return (
        AdapterInfo("salesforce", AdapterKind.TARGET, _factory, OPTIONS_SCHEMA),
        AdapterInfo("salesforce", AdapterKind.SOURCE, _source_factory, SOURCE_OPTIONS_SCHEMA),
    )


@hookimpl
def register_emulators() -> Mapping[str, LazyCommand]:
    return {
        "salesforce": LazyCommand(
            "fieldline.adapters.salesforce.emulator.cli:salesforce", "Serve a Salesforce REST API emulator."
        )
    }
