"""Registers the files source and target (the same way a third-party plugin would)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fieldline.adapters.files.source import SOURCE_OPTIONS_SCHEMA, FilesSource
from fieldline.adapters.files.target import TARGET_OPTIONS_SCHEMA, FilesTarget
from fieldline.contracts import AdapterContext, AdapterInfo, AdapterKind
from fieldline.plugins.hookspecs import hookimpl


def make_source(options: Mapping[str, Any], context: AdapterContext) -> FilesSource:
    """Documents from a .jsonl, .json or .csv file."""
    return FilesSource(
        context.resolve(options["path"]),
        file_format=options.get("format"),
        key=options.get("key", "id"),
        version=options.get("version"),
        functions=context.functions,
    )


def make_target(options: Mapping[str, Any], context: AdapterContext) -> FilesTarget:
    """Records in a JSON file or a folder of <Object>.jsonl files."""
    return FilesTarget(context.resolve(options["path"]), objects=options.get("objects"))


@hookimpl
def register_adapters() -> Sequence[AdapterInfo]:
    return (
        AdapterInfo("files", AdapterKind.SOURCE, make_source, SOURCE_OPTIONS_SCHEMA),
        AdapterInfo("files", AdapterKind.TARGET, make_target, TARGET_OPTIONS_SCHEMA),
    )
