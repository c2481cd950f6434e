"""The plugin manager factory and the registries built from its hooks.

Never built at import time: call :func:`get_plugin_manager` (tests get a fresh one each).
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import pluggy

from fieldline.contracts import AdapterInfo, AdapterKind
from fieldline.errors import ConfigError
from fieldline.expressions.compiled import FunctionRegistry, JmespathFunction
from fieldline.plugins import hookspecs

__all__ = [
    "adapter_registry",
    "function_registry",
    "get_plugin_manager",
    "normalizer_registry",
]


BUILTIN_PLUGINS = (
    "fieldline.plugins.builtins",
    "fieldline.queue.plugin",
    "fieldline.adapters.files.plugin",
    "fieldline.adapters.salesforce.plugin",
    "fieldline.adapters.passfort.plugin",
)


def get_plugin_manager(
    *, load_entrypoints: bool = True, plugins: tuple[ModuleType | object, ...] = ()
) -> pluggy.PluginManager:
    """A plugin manager with fieldline's hooks, the installed plugins and ``plugins``.

    With ``load_entrypoints=False`` only the built-ins (imported directly) and ``plugins``
    are registered, which keeps tests independent of what happens to be installed.
    """
    manager = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    manager.add_hookspecs(hookspecs)
    if load_entrypoints:
        manager.load_setuptools_entrypoints(hookspecs.PROJECT_NAME)
    for module in _builtin_modules():
        if not manager.is_registered(module) and manager.get_plugin(module.__name__) is None:
            manager.register(module, name=module.__name__)
    for plugin in plugins:
        if not manager.is_registered(plugin):  # a built-in passed again is already there
            manager.register(plugin)
    return manager


def _builtin_modules() -> list[ModuleType]:
    # The same modules the entry-point group names; registered directly too so a broken or
    # missing installation still gets the built-ins (pluggy skips ones already registered).
    import importlib

    return [importlib.import_module(name) for name in BUILTIN_PLUGINS]


def function_registry(manager: pluggy.PluginManager) -> FunctionRegistry:
    """Every extra JMESPath function the plugins contribute."""
    functions: dict[str, JmespathFunction] = {}
    for contributed in manager.hook.register_functions():
        for function in contributed:
            if function.name in functions:
                raise ConfigError(
                    f"two plugins register the JMESPath function {function.name!r}",
                    hint="uninstall one of them or rename the function",
                )
            functions[function.name] = function
    return FunctionRegistry(tuple(functions.values()))


def normalizer_registry(manager: pluggy.PluginManager) -> dict[str, Callable[[Any], Any]]:
    """Every match normalizer the plugins contribute, by name."""
    normalizers: dict[str, Callable[[Any], Any]] = {}
    for contributed in manager.hook.register_normalizers():
        for name, function in contributed.items():
            if name in normalizers:
                raise ConfigError(
                    f"two plugins register the normalizer {name!r}",
                    hint="uninstall one of them or rename the normalizer",
                )
            normalizers[name] = function
    return normalizers


def adapter_registry(manager: pluggy.PluginManager) -> dict[tuple[str, AdapterKind], AdapterInfo]:
    """Every adapter the plugins contribute, by (name, kind)."""
    adapters: dict[tuple[str, AdapterKind], AdapterInfo] = {}
    for contributed in manager.hook.register_adapters():
        for info in contributed:
            slot = (info.name, info.kind)
            if slot in adapters:
                raise ConfigError(
                    f"two plugins register the {info.kind.value} adapter {info.name!r}",
                    hint="uninstall one of them",
                )
            adapters[slot] = info
    return adapters
