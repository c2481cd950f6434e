"""Plugins: the hook specifications, the plugin manager factory and fieldline's own built-ins."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fieldline.exports import resolve

if TYPE_CHECKING:
    from fieldline.plugins.hookspecs import (
        hookimpl,
    )
    from fieldline.plugins.manager import (
        adapter_registry,
        function_registry,
        get_plugin_manager,
        normalizer_registry,
    )

_EXPORTS = {
    "adapter_registry": "fieldline.plugins.manager",
    "function_registry": "fieldline.plugins.manager",
    "get_plugin_manager": "fieldline.plugins.manager",
    "hookimpl": "fieldline.plugins.hookspecs",
    "normalizer_registry": "fieldline.plugins.manager",
}
__all__ = [
    "adapter_registry",
    "function_registry",
    "get_plugin_manager",
    "hookimpl",
    "normalizer_registry",
]


def __getattr__(name: str) -> Any:
    return resolve(__name__, _EXPORTS, name)
