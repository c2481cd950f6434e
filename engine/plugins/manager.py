"""The plugin manager factory and the registries built from its hooks.

Never built at import time: call :func:`get_plugin_manager` (tests get a fresh one each).
Plugins are loaded one at a time (:mod:`fieldline.plugins.loading`) and hooks are called one
plugin at a time (:func:`collect`), so a broken plugin is named and left out, never fatal.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Hashable, Iterable, Mapping
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pluggy

from fieldline.contracts import AdapterInfo, AdapterKind
from fieldline.errors import ConfigError
from fieldline.expressions.compiled import FunctionRegistry
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


def _unique(
    manager: pluggy.PluginManager,
    hook_name: str,
    entries: Callable[[Any], Iterable[tuple[Hashable, Any]]],
    what: Callable[[Any], str],
    hint: str,
) -> dict[Any, Any]:
    """Every entry the plugins contribute through ``hook_name``, by key; two plugins
    contributing one key is a :class:`ConfigError` naming both (``what(key)`` says what)."""
    found: dict[Any, Any] = {}
    owners: dict[Any, str] = {}
    for plugin, contributed in collect(manager, hook_name):
        for key, value in entries(contributed):
            if key in found:
                raise ConfigError(
                    f"plugins {owners[key]!r} and {plugin!r} both register {what(key)}", hint=hint
                )
            found[key] = value
            owners[key] = plugin
    return found


_DISABLE_ONE = "uninstall or disable one of them (FIELDLINE_DISABLE_PLUGINS=name)"


def function_registry(manager: pluggy.PluginManager) -> FunctionRegistry:
    """Every extra JMESPath function the plugins contribute."""
    functions = _unique(
        manager,
        "register_functions",
        lambda contributed: ((function.name, function) for function in contributed),
        lambda name: f"the JMESPath function {name!r}",
        hint=f"{_DISABLE_ONE}, or rename the function",
    )
    return FunctionRegistry(tuple(functions.values()))


def normalizer_registry(manager: pluggy.PluginManager) -> dict[str, Callable[[Any], Any]]:
    """Every match normalizer the plugins contribute, by name."""
    return _unique(
        manager,
        "register_normalizers",
        lambda contributed: contributed.items(),
        lambda name: f"the normalizer {name!r}",
        hint=f"{_DISABLE_ONE}, or rename the normalizer",
    )


def adapter_registry(manager: pluggy.PluginManager) -> dict[tuple[str, AdapterKind], AdapterInfo]:
    """Every adapter the plugins contribute, by (name, kind)."""
    return _unique(
        manager,
        "register_adapters",
        lambda contributed: (((info.name, info.kind), info) for info in contributed),
        lambda slot: f"the {slot[1].value} adapter {slot[0]!r}",
        hint=_DISABLE_ONE,
    )


def emulator_registry(manager: pluggy.PluginManager) -> dict[str, LazyCommand]:
    """Every emulator the plugins contribute (``fieldline emulator <name>``), by name."""
    from fieldline.cli import LazyCommand

    return _unique(
        manager,
        "register_emulators",
        lambda contributed: ((name, LazyCommand(*command)) for name, command in contributed.items()),
        lambda name: f"the emulator {name!r}",
        hint=_DISABLE_ONE,
    )
