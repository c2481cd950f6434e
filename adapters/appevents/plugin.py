"""Registers the ``appevents`` source adapter and ``fieldline appevents token|send``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fieldline.cli import LazyCommand, LazyGroup
from fieldline.contracts import AdapterContext, AdapterInfo, AdapterKind
from fieldline.plugins.hookspecs import hookimpl


def build_source(options: Mapping[str, Any], context: AdapterContext) -> Any:
    """Named app events with RS256 JWTs (one tenant per sub), checked against JSON Schemas.

    The adapter factory: schema and key paths are taken from the spec's folder; with tenant
    connections, events of a ``sub`` without one are refused at intake (403)."""
    from fieldline.adapters.appevents.options import parse_options
    from fieldline.adapters.appevents.source import AppEventsSource

    return AppEventsSource(parse_options(options, context), tenants=context.tenants)


@hookimpl
def register_adapters() -> Sequence[AdapterInfo]:
    from fieldline.adapters.appevents.options import OPTIONS_SCHEMA

    return (AdapterInfo("appevents", AdapterKind.SOURCE, build_source, OPTIONS_SCHEMA),)


@hookimpl
def register_commands(cli: LazyGroup) -> None:
    cli.add_lazy_command(
        "appevents",
        LazyCommand(
            "fieldline.adapters.appevents.cli:appevents",
            "App events tools: a test token, a local dry run of one event.",
        ),
    )
