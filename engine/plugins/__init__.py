"""Plugins: the hook specifications, the plugin manager factory and fieldline's own built-ins."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fieldline.exports import exported, resolve

if TYPE_CHECKING:
    from fieldline.plugins.hookspecs import hookimpl as hookimpl
    from fieldline.plugins.manager import (
        adapter_registry as adapter_registry,
        function_registry as function_registry,
        get_plugin_manager as get_plugin_manager,
        normalizer_registry as normalizer_registry,
    )

__all__ = exported(__file__)


def __getattr__(name: str) -> Any:
    return resolve(__name__, __file__, name)
