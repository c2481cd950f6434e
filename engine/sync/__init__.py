"""Running a spec: build its adapters, then batch documents through source -> plan -> target."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fieldline.exports import export_names, resolve

if TYPE_CHECKING:
    from fieldline.sync.adapter_builder import adapter_context, build_adapter, build_source, build_target
    from fieldline.sync.runner import RecordOutcome, Runner, RunReport

_MODULES = {
    "fieldline.sync.adapter_builder": ("adapter_context", "build_adapter", "build_source", "build_target"),
    "fieldline.sync.runner": ("RecordOutcome", "RunReport", "Runner"),
}
__all__ = export_names(_MODULES)


def __getattr__(name: str) -> Any:
    return resolve(__name__, _MODULES, name)
