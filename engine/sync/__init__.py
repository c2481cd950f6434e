"""Running a spec: build its adapters, then batch documents through source -> plan -> target."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fieldline.exports import export_names, resolve

if TYPE_CHECKING:
    from fieldline.sync.adapter_builder import build_adapter, build_source, build_target, spec_directory
    from fieldline.sync.runner import OutcomeStage, RecordOutcome, Runner, RunReport

_MODULES = {
    "fieldline.sync.adapter_builder": ("build_adapter", "build_source", "build_target", "spec_directory"),
    "fieldline.sync.runner": ("OutcomeStage", "RecordOutcome", "RunReport", "Runner"),
}
__all__ = export_names(_MODULES)


def __getattr__(name: str) -> Any:
    return resolve(__name__, _MODULES, name)
