"""The plugin manager factory and the registries built from its hooks.

Never built at import time: call :func:`get_plugin_manager` (tests get a fresh one each).
Plugins are loaded one at a time (:mod:`fieldline.plugins.loading`) and hooks are called one
plugin at a time (:func:`collect`), so a broken plugin is named and left out, never fatal.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pluggy

from fieldline.contracts import AdapterInfo, AdapterKind
from fieldline.errors import ConfigError
from fieldline.expressions.compiled import FunctionRegistry, JmespathFunction
from fieldline.plugins import hookspecs
from fieldline.plugins.loading import (
    PluginFailure,
    PluginSelection,
    PluginSource,
    builtin_sources,
    load_plugin,
    report,
    third_party_sources,
)

if TYPE_CHECKING:
    from fieldline.cli import LazyCommand

__all__ = [
    "PluginManager",
    "adapter_registry",
    "collect",
    "emulator_registry",
    "function_registry",
    "get_plugin_manager",
    "normalizer_registry",
]


class PluginManager(pluggy.PluginManager):
    """pluggy's manager, plus what loading found: where each plugin came from, which failed
    and which the environment disabled."""

    def __init__(self) -> None:
        super().__init__(hookspecs.PROJECT_NAME)
        self.add_hookspecs(hookspecs)
        self.origins: dict[str, PluginSource] = {}
        self.failures: list[PluginFailure] = []
        self.skipped: list[PluginSource] = []

    def record_failure(self, failure: PluginFailure) -> None:
        if failure not in self.failures:
            self.failures.append(failure)
        report(failure.describe())


def get_plugin_manager(
    *,
    load_entrypoints: bool = True,
    plugins: tuple[ModuleType | object, ...] = (),
    environ: Mapping[str, str] | None = None,
) -> PluginManager:
    """A plugin manager with fieldline's hooks, the built-ins, the installed plugins and ``plugins``.

    ``FIELDLINE_LOAD_PLUGINS`` / ``FIELDLINE_DISABLE_PLUGINS`` in ``environ`` (default
    ``os.environ``) choose the plugins. With ``load_entrypoints=False`` only the built-ins and
    ``plugins`` are registered, whatever is installed or set, which keeps tests independent.
    """
    manager = PluginManager()
    sources = builtin_sources()
    selection = PluginSelection()
    if load_entrypoints:
        sources += third_party_sources()
        selection = PluginSelection.from_environ(os.environ if environ is None else environ)
        for variable, name in selection.unknown_names(sources):
            report(f"{variable} names {name!r}, but no installed plugin has that name (`fieldline plugins`)")
    for source in sources:
        if not selection.allows(source):
            manager.skipped.append(source)
            continue
        failure = load_plugin(manager, source)
        if failure is None:
            manager.origins[source.name] = source
        else:
            manager.record_failure(failure)
    for plugin in plugins:
        if not manager.is_registered(plugin):  # a built-in passed again is already there
            manager.register(plugin)
    return manager


def collect(manager: pluggy.PluginManager, hook_name: str, **kwargs: Any) -> list[tuple[str, Any]]:
    """(plugin name, result) of each implementation of ``hook_name``, in pluggy's call order.

    An implementation that raises is reported by plugin name and left out, so one plugin's bug
    costs only what that plugin adds.
    """
    caller: pluggy.HookCaller = getattr(manager.hook, hook_name)
    implementations = caller.get_hookimpls()
    if any(impl.hookwrapper or impl.wrapper for impl in implementations):
        return [("", result) for result in caller(**kwargs)]  # wrappers need pluggy's own loop
    results: list[tuple[str, Any]] = []
    for impl in reversed(implementations):  # pluggy calls the last registered first
        try:
            result = impl.function(*(kwargs[name] for name in impl.argnames))
        except Exception as exc:  # a plugin's bug: name the plugin, keep the others
            source = manager.origins.get(impl.plugin_name) if isinstance(manager, PluginManager) else None
            failure = PluginFailure(
                impl.plugin_name,
                source.distribution if source else "",
                hook_name,
                type(exc).__name__,
                str(exc),
            )
            if isinstance(manager, PluginManager):
                manager.record_failure(failure)
            else:
                report(failure.describe())
            continue
        if result is not None:
            results.append((impl.plugin_name, result))
    return results


def function_registry(manager: pluggy.PluginManager) -> FunctionRegistry:
    """Every extra JMESPath function the plugins contribute."""
    functions: dict[str, JmespathFunction] = {}
    owners: dict[str, str] = {}
    for plugin, contributed in collect(manager, "register_functions"):
        for function in contributed:
            if function.name in functions:
                raise ConfigError(
                    f"plugins {owners[function.name]!r} and {plugin!r} both register the JMESPath "
                    f"function {function.name!r}",
                    hint="uninstall or disable one of them, or rename the function",
                )
            functions[function.name] = function
            owners[function.name] = plugin
    return FunctionRegistry(tuple(functions.values()))


def normalizer_registry(manager: pluggy.PluginManager) -> dict[str, Callable[[Any], Any]]:
    """Every match normalizer the plugins contribute, by name."""
    normalizers: dict[str, Callable[[Any], Any]] = {}
    owners: dict[str, str] = {}
    for plugin, contributed in collect(manager, "register_normalizers"):
        for name, function in contributed.items():
            if name in normalizers:
                raise ConfigError(
                    f"plugins {owners[name]!r} and {plugin!r} both register the normalizer {name!r}",
                    hint="uninstall or disable one of them, or rename the normalizer",
                )
            normalizers[name] = function
            owners[name] = plugin
    return normalizers


def adapter_registry(manager: pluggy.PluginManager) -> dict[tuple[str, AdapterKind], AdapterInfo]:
    """Every adapter the plugins contribute, by (name, kind)."""
    adapters: dict[tuple[str, AdapterKind], AdapterInfo] = {}
    owners: dict[tuple[str, AdapterKind], str] = {}
    for plugin, contributed in collect(manager, "register_adapters"):
        for info in contributed:
            slot = (info.name, info.kind)
            if slot in adapters:
                raise ConfigError(
                    f"plugins {owners[slot]!r} and {plugin!r} both register the {info.kind.value} "
                    f"adapter {info.name!r}",
                    hint="uninstall or disable one of them (FIELDLINE_DISABLE_PLUGINS=name)",
                )
            adapters[slot] = info
            owners[slot] = plugin
    return adapters


def emulator_registry(manager: pluggy.PluginManager) -> dict[str, LazyCommand]:
    """Every emulator the plugins contribute (``fieldline emulator <name>``), by name."""
    from fieldline.cli import LazyCommand

    emulators: dict[str, LazyCommand] = {}
    owners: dict[str, str] = {}
    for plugin, contributed in collect(manager, "register_emulators"):
        for name, command in contributed.items():
            if name in emulators:
                raise ConfigError(
                    f"plugins {owners[name]!r} and {plugin!r} both register the emulator {name!r}",
                    hint="uninstall or disable one of them (FIELDLINE_DISABLE_PLUGINS=name)",
                )
            emulators[name] = LazyCommand(*command)
            owners[name] = plugin
    return emulators
