"""Finding and loading plugins one at a time, so one broken plugin cannot break fieldline.

Built-ins are the entry points fieldline's own distribution declares in the ``fieldline`` group
(or, in a checkout without installed metadata, the plugin modules found in the core and in
``fieldline.adapters``). Third-party plugins are every other distribution's entry points in the
same group. Two environment variables choose among them, after datasette's
``DATASETTE_LOAD_PLUGINS``: :data:`LOAD_VARIABLE` names the only third-party plugins to load
(empty: none), :data:`DISABLE_VARIABLE` names plugins, built-in or not, to skip. A plugin that
cannot be imported or registered becomes a :class:`PluginFailure`, reported once on stderr.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pluggy

__all__ = [
    "DISABLE_VARIABLE",
    "LOAD_VARIABLE",
    "PluginFailure",
    "PluginSelection",
    "PluginSource",
    "builtin_sources",
    "discovered_builtins",
    "load_plugin",
    "report",
    "third_party_sources",
]

GROUP = "fieldline"
DISTRIBUTION = "fieldline"
LOAD_VARIABLE = "FIELDLINE_LOAD_PLUGINS"
DISABLE_VARIABLE = "FIELDLINE_DISABLE_PLUGINS"
LOADING = "load"

# The core's own plugins; adapters' plugins are found in their folders (see discovered_builtins).
CORE_PLUGINS = {
    "builtin_functions": "fieldline.plugins.builtins",
    "sqlite_queue": "fieldline.queue.plugin",
    "postgres_queue": "fieldline.queue.postgres_plugin",
}


@dataclass(frozen=True, slots=True)
class PluginSource:
    """An entry point to load: ``target`` is ``module`` or ``module:attribute``."""

    name: str
    target: str
    distribution: str = ""
    builtin: bool = False

    def load(self) -> object:
        return importlib.metadata.EntryPoint(name=self.name, value=self.target, group=GROUP).load()


@dataclass(frozen=True, slots=True)
class PluginFailure:
    """A plugin that could not be loaded (``stage`` is ``"load"``) or whose implementation of the
    hook named by ``stage`` raised."""

    name: str
    distribution: str
    stage: str
    error_type: str
    message: str

    @property
    def error(self) -> str:
        return f"{self.error_type}: {self.message}" if self.message else self.error_type

    def describe(self) -> str:
        origin = f" (from {self.distribution})" if self.distribution else ""
        what = "could not be loaded" if self.stage == LOADING else f"failed in {self.stage}"
        remedy = f"set {DISABLE_VARIABLE}={self.name}"
        if self.distribution and self.distribution != DISTRIBUTION:
            remedy += f" or uninstall {self.distribution}"
        return (
            f"plugin {self.name!r}{origin} {what}: {self.error}. fieldline goes on without it "
            f"(commands that need it will fail); to skip it, {remedy}."
        )


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).strip().lower()


def _names(value: str | None) -> frozenset[str] | None:
    if value is None:
        return None
    return frozenset(_normalized(part) for part in value.split(",") if part.strip())


@dataclass(frozen=True, slots=True)
class PluginSelection:
    """Which plugins to load, by entry-point name or distribution name.

    ``only`` is ``None`` to load every third-party plugin; built-ins load unless ``disabled``.
    """

    only: frozenset[str] | None = None
    disabled: frozenset[str] = frozenset()

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> PluginSelection:
        return cls(
            only=_names(environ.get(LOAD_VARIABLE)),
            disabled=_names(environ.get(DISABLE_VARIABLE)) or frozenset(),
        )

    def allows(self, source: PluginSource) -> bool:
        names = {_normalized(source.name), _normalized(source.distribution)}
        if names & self.disabled:
            return False
        return source.builtin or self.only is None or bool(names & self.only)

    def unknown_names(self, sources: Iterable[PluginSource]) -> list[tuple[str, str]]:
        """(variable, name) for every name that matches no plugin: most likely a typo."""
        known = {_normalized(n) for source in sources for n in (source.name, source.distribution)}
        named = [(LOAD_VARIABLE, name) for name in self.only or ()]
        named += [(DISABLE_VARIABLE, name) for name in self.disabled]
        return sorted((variable, name) for variable, name in named if name not in known)


def builtin_sources() -> list[PluginSource]:
    """fieldline's own plugins: the entry points its distribution declares or, without
    installed metadata, the ones :func:`discovered_builtins` finds."""
    try:
        declared = importlib.metadata.distribution(DISTRIBUTION).entry_points.select(group=GROUP)
    except importlib.metadata.PackageNotFoundError:
        declared = importlib.metadata.EntryPoints(())
    sources = [PluginSource(ep.name, ep.value, DISTRIBUTION, builtin=True) for ep in declared]
    return sources or discovered_builtins()


def discovered_builtins() -> list[PluginSource]:
    """The core's plugins and, in ``fieldline.adapters``, each ``<name>/plugin.py`` and
    ``<name>_plugin.py`` (registered as ``<name>``), from the package's folders alone."""
    adapters = importlib.import_module("fieldline.adapters")
    sources = [
        PluginSource(name, module, DISTRIBUTION, builtin=True) for name, module in CORE_PLUGINS.items()
    ]
    found: dict[str, str] = {}
    for folder in map(Path, adapters.__path__):
        for path in folder.glob("*/plugin.py"):
            found[path.parent.name] = f"{adapters.__name__}.{path.parent.name}.plugin"
        for path in folder.glob("*_plugin.py"):
            found[path.stem.removesuffix("_plugin")] = f"{adapters.__name__}.{path.stem}"
    sources += [PluginSource(name, found[name], DISTRIBUTION, builtin=True) for name in sorted(found)]
    return sources


def third_party_sources() -> list[PluginSource]:
    """Every other installed distribution's entry points in the ``fieldline`` group."""
    sources = []
    for ep in importlib.metadata.entry_points(group=GROUP):
        distribution = ep.dist.name if ep.dist is not None else ""
        if _normalized(distribution) != DISTRIBUTION:
            sources.append(PluginSource(ep.name, ep.value, distribution))
    return sources


def load_plugin(manager: pluggy.PluginManager, source: PluginSource) -> PluginFailure | None:
    """Import ``source`` and register it under its name; the failure, if any, instead of raising."""
    try:
        plugin = source.load()
        if not manager.is_registered(plugin):  # two entry points naming one module: once is enough
            manager.register(plugin, name=source.name)
    except Exception as exc:  # whatever a plugin's import raises, fieldline goes on without it
        return PluginFailure(source.name, source.distribution, LOADING, type(exc).__name__, str(exc))
    return None


_reported: set[str] = set()


def report(message: str) -> None:
    """Write a warning about plugins to stderr, once per process (commands build several
    plugin managers; the user needs to read it once)."""
    if message in _reported:
        return
    _reported.add(message)
    sys.stderr.write(f"fieldline: warning: {message}\n")
    sys.stderr.flush()
