"""Build the adapters a spec names, through the plugin registry."""

from __future__ import annotations

import contextvars
import difflib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pluggy

from fieldline.contracts import AdapterKind, SourceAdapter, TargetAdapter
from fieldline.errors import ConfigError
from fieldline.plugins.manager import adapter_registry
from fieldline.spec.model import AdapterSpec, Spec

__all__ = ["build_adapter", "build_source", "build_target", "spec_directory"]

_spec_directory: contextvars.ContextVar[Path | None] = contextvars.ContextVar(
    "fieldline_spec_directory", default=None
)


def spec_directory() -> Path:
    """The folder of the spec whose adapters are being built; relative paths in adapter
    options are resolved against it (the current folder when there is no spec file)."""
    return _spec_directory.get() or Path.cwd()


@contextmanager
def _in_spec_directory(spec: Spec) -> Iterator[None]:
    folder = Path(spec.file).resolve().parent if spec.file else None
    token = _spec_directory.set(folder)
    try:
        yield
    finally:
        _spec_directory.reset(token)


def build_adapter(
    adapter: AdapterSpec, kind: AdapterKind, manager: pluggy.PluginManager, *, spec: Spec
) -> Any:
    """Instantiate ``adapter`` of ``kind`` with its spec options."""
    registry = adapter_registry(manager)
    info = registry.get((adapter.adapter, kind))
    if info is None:
        known = sorted(name for name, registered_kind in registry if registered_kind is kind)
        close = difflib.get_close_matches(adapter.adapter, known, n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"installed: {', '.join(known) or 'none'}"
        raise ConfigError(f"{adapter.location}: no {kind.value} adapter named {adapter.adapter!r}", hint=hint)
    _check_options(adapter, kind, info.options_schema)
    with _in_spec_directory(spec):
        return info.factory(dict(adapter.options))


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
    source: SourceAdapter = build_adapter(spec.source, AdapterKind.SOURCE, manager, spec=spec)
    if fetching:
        run_check(source, source.check_ready)
    return source


def build_target(spec: Spec, manager: pluggy.PluginManager) -> TargetAdapter:
    if spec.target is None:
        raise ConfigError(
            f"{spec.file or spec.name}: the spec has no target", hint="add target: {adapter: ...}"
        )
    target: TargetAdapter = build_adapter(spec.target, AdapterKind.TARGET, manager, spec=spec)
    run_check(target, target.check_ready)  # e.g. no credentials: fail before any work
    return target


def run_check(adapter: SourceAdapter | TargetAdapter, check: Callable[[], None]) -> None:
    """Run one of the adapter's start-up checks (``check_ready``, ``check_receiving``); on
    failure close the adapter and let the :class:`ConfigError` through."""
    try:
        check()
    except BaseException:
        adapter.close()
        raise
