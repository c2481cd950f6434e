"""Build the adapters a spec names, through the plugin registry."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pluggy

from fieldline.contracts import AdapterContext, AdapterKind, SourceAdapter, TargetAdapter
from fieldline.errors import ConfigError
from fieldline.plugins.manager import PluginManager, adapter_registry, function_registry
from fieldline.spec.model import AdapterSpec, Spec
from fieldline.sync.tenants import Connections, load_connections

__all__ = ["adapter_context", "build_adapter", "build_source", "build_target", "spec_connections"]


def adapter_context(
    spec: Spec,
    manager: pluggy.PluginManager | None = None,
    *,
    connection: Mapping[str, Any] | None = None,
    tenants: frozenset[str] | None = None,
) -> AdapterContext:
    """What a factory is told about ``spec``: relative paths in adapter options are taken from
    the spec's folder (the current folder when there is no spec file), the plugins' expression
    functions; a tenant's ``connection`` for a target, the known ``tenants`` for a source."""
    folder = Path(spec.file).resolve().parent if spec.file else Path.cwd()
    functions = function_registry(manager) if manager is not None else None
    return AdapterContext(
        spec_folder=folder, spec_name=spec.name, functions=functions, connection=connection, tenants=tenants
    )


def build_adapter(
    adapter: AdapterSpec,
    kind: AdapterKind,
    manager: pluggy.PluginManager,
    *,
    spec: Spec,
    context: AdapterContext | None = None,
) -> Any:
    """Instantiate ``adapter`` of ``kind`` with its spec options."""
    registry = adapter_registry(manager)
    info = registry.get((adapter.adapter, kind))
    if info is None:
        known = sorted(name for name, registered_kind in registry if registered_kind is kind)
        close = difflib.get_close_matches(adapter.adapter, known, n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"installed: {', '.join(known) or 'none'}"
        if isinstance(manager, PluginManager) and manager.failures:
            failed = ", ".join(sorted({repr(failure.name) for failure in manager.failures}))
            hint += f"; plugins that failed (see the warnings above): {failed}"
        raise ConfigError(f"{adapter.location}: no {kind.value} adapter named {adapter.adapter!r}", hint=hint)
    _check_options(adapter, kind, info.options_schema)
    return info.factory(dict(adapter.options), context or adapter_context(spec, manager))


def _check_options(adapter: AdapterSpec, kind: AdapterKind, schema: Mapping[str, Any] | None) -> None:
    """Refuse options the adapter's own schema rejects, before its factory sees them.

    ``validate`` reports these with positions; this guards the paths that build an adapter
    without a validated spec (``describe --target``, ``validate --against``).
    """
    if not schema:
        return
    import jsonschema

    validator_class = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    error = jsonschema.exceptions.best_match(validator_class(schema).iter_errors(dict(adapter.options)))
    if error is not None:
        where = "".join(f".{part}" for part in error.absolute_path)
        raise ConfigError(
            f"{adapter.location}: {kind.value} adapter {adapter.adapter!r} options{where}: {error.message}",
            hint="set them in the spec's "
            f"{kind.value}.options (`fieldline plugins` lists each adapter's options)",
        )


def build_source(spec: Spec, manager: pluggy.PluginManager, *, fetching: bool = True) -> SourceAdapter:
    """The spec's source adapter.

    ``fetching=False`` is for a webhook receiver that only parses requests. Otherwise a source's
    ``check_ready()`` runs now, so missing fetch settings (an API key) fail before
    any work starts rather than at the first document.
    """
    if spec.source is None:
        raise ConfigError(
            f"{spec.file or spec.name}: the spec has no source", hint="add source: {adapter: ...}"
        )
    tenants = spec_connections(spec)
    context = adapter_context(spec, manager, tenants=tenants.names if tenants is not None else None)
    source: SourceAdapter = build_adapter(
        spec.source, AdapterKind.SOURCE, manager, spec=spec, context=context
    )
    if fetching:
        run_check(source, source.check_ready)
    return source


def build_target(spec: Spec, manager: pluggy.PluginManager, *, tenant: str | None = None) -> TargetAdapter:
    """The spec's target; for ``tenant``, connected with that tenant's settings from the
    spec's connections (a :class:`ConfigError` when the tenant has none)."""
    if spec.target is None:
        raise ConfigError(
            f"{spec.file or spec.name}: the spec has no target", hint="add target: {adapter: ...}"
        )
    context = None
    if tenant is not None:
        connections = spec_connections(spec)
        connection = connections.get(tenant) if connections is not None else None
        if connection is None:
            raise ConfigError(
                f"tenant {tenant!r} has no connection in {spec.connections or 'the spec'}",
                hint="add the tenant to the connections file; its jobs wait meanwhile",
            )
        context = adapter_context(spec, manager, connection=connection.settings())
    target: TargetAdapter = build_adapter(
        spec.target, AdapterKind.TARGET, manager, spec=spec, context=context
    )
    run_check(target, target.check_ready)  # e.g. no credentials: fail before any work
    return target


def spec_connections(spec: Spec) -> Connections | None:
    """The tenants' connections the spec names (``connections:``), or ``None``."""
    path = spec.connections_path
    if path is None:
        return None
    if spec.target is None:
        raise ConfigError(f"{spec.file or spec.name}: `connections:` needs a target adapter to connect")
    return load_connections(path, adapter=spec.target.adapter)


def run_check(adapter: SourceAdapter | TargetAdapter, check: Callable[[], None]) -> None:
    """Run one of the adapter's start-up checks (``check_ready``, ``check_receiving``); on
    failure close the adapter and let the :class:`ConfigError` through."""
    try:
        check()
    except BaseException:
        adapter.close()
        raise
