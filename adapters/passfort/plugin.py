"""Registers the passfort adapter."""

from __future__ import annotations

from collections.abc import Sequence

from fieldline.contracts import AdapterInfo
from fieldline.hookspecs import hookimpl


@hookimpl
def register_adapters() -> Sequence[AdapterInfo]:
    return ()
