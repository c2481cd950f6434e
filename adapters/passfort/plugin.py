"""Registers the ``passfort`` source adapter and ``fieldline emulator passfort``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fieldline.cli import LazyCommand
from fieldline.contracts import AdapterContext, AdapterInfo, AdapterKind
from fieldline.plugins.hookspecs import hookimpl

OPTIONS_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "events": {
            "description": (
                "Webhook event types that trigger a sync (others are recorded, not synced). "
                "Default: PRODUCT_STATUS_CHANGED, PRODUCT_BADGE_CHANGED. PRODUCT_FLAG_CHANGED "
                "is an alias of PRODUCT_BADGE_CHANGED."
            ),
            "type": "array",
            "items": {"type": "string", "pattern": "^[A-Za-z][A-Za-z0-9_]*$"},
            "uniqueItems": True,
        },
        "profile_ids": {
            "description": "Profile ids a batch run (backfill) reads; PassFort has no listing.",
            "type": "array",
            "items": {"type": "string", "minLength": 1},
        },
        "profile_ids_file": {
            "description": "A text file of profile ids, one a line (# comments allowed).",
            "type": "string",
            "minLength": 1,
        },
        "base_url": {
            "description": "API root; FIELDLINE_PASSFORT_BASE_URL overrides it.",
            "type": "string",
            "pattern": "^https?://",
        },
        "timeout": {"description": "Seconds per HTTP request.", "type": "number", "exclusiveMinimum": 0},
        "max_retries": {
            "description": "Retries for 429/5xx/timeouts before the job is retried later.",
            "type": "integer",
            "minimum": 0,
            "maximum": 20,
        },
        "concurrency": {
            "description": "Profiles fetched at once during a batch run.",
            "type": "integer",
            "minimum": 1,
            "maximum": 32,
        },
    },
}


def build_source(options: Mapping[str, Any], context: AdapterContext) -> Any:
    """PassFort API v4 profiles, with product status/badge webhooks.

    The adapter factory: a :class:`~fieldline.adapters.passfort.source.PassFortSource`; a
    relative ``profile_ids_file`` is taken from the spec's folder."""
    from fieldline.adapters.passfort.source import PassFortSource

    ids_file = options.get("profile_ids_file")
    if ids_file is not None:
        options = {**options, "profile_ids_file": str(context.resolve(ids_file))}
    return PassFortSource.from_options(options)


@hookimpl
def register_adapters() -> Sequence[AdapterInfo]:
    return (AdapterInfo("passfort", AdapterKind.SOURCE, build_source, OPTIONS_SCHEMA),)


@hookimpl
def register_emulators() -> Mapping[str, LazyCommand]:
    return {
        "passfort": LazyCommand(
            "fieldline.adapters.passfort.emulator.cli:passfort",
            "Serve a PassFort API emulator that delivers webhooks.",
        )
    }
