"""Registers the files source and target (the same way a third-party plugin would)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from fieldline.adapters.files.options import SOURCE_OPTIONS_SCHEMA, TARGET_OPTIONS_SCHEMA
from fieldline.contracts import AdapterContext, AdapterInfo, AdapterKind
from fieldline.plugins.hookspecs import hookimpl

if TYPE_CHECKING:  # imported when an adapter is made, not when the plugin registers
    from fieldline.adapters.files.source import FilesSource
    from fieldline.adapters.files.target import FilesTarget


def make_source(options: Mapping[str, Any], context: AdapterContext) -> FilesSource:
    """Documents from a .jsonl, .json or .csv file."""
    from fieldline.adapters.files.source import FilesSource

    return FilesSource(
        context.resolve(options["path"]),
        file_format=options.get("format"),
        key=options.get("key", "id"),
        version=options.get("version"),
        functions=context.functions,
    )


def make_target(options: Mapping[str, Any], context: AdapterContext) -> FilesTarget:
    """Records in a JSON file or a folder of <Object>.jsonl files."""
    from fieldline.adapters.files.target import FilesTarget

    return FilesTarget(context.resolve(options["path"]), objects=options.get("objects"))


@hookimpl
def register_adapters() -> Sequence[AdapterInfo]:
    return (
        AdapterInfo("files", AdapterKind.SOURCE, make_source, SOURCE_OPTIONS_SCHEMA),
        AdapterInfo("files", AdapterKind.TARGET, make_target, TARGET_OPTIONS_SCHEMA),
    )
