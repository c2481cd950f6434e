"""Running a spec: build its adapters, then batch documents through source -> plan -> target."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fieldline.exports import resolve

if TYPE_CHECKING:
    from fieldline.sync.adapter_builder import (
        build_adapter,
        build_source,
        build_target,
        spec_directory,
    )
    from fieldline.sync.runner import (
        RecordOutcome,
        Runner,
        RunReport,
    )

_EXPORTS = {
    "RecordOutcome": "fieldline.sync.runner",
    "RunReport": "fieldline.sync.runner",
    "Runner": "fieldline.sync.runner",
    "build_adapter": "fieldline.sync.adapter_builder",
    "build_source": "fieldline.sync.adapter_builder",
    "build_target": "fieldline.sync.adapter_builder",
    "spec_directory": "fieldline.sync.adapter_builder",
}
__all__ = [
    "RecordOutcome",
    "RunReport",
    "Runner",
    "build_adapter",
    "build_source",
    "build_target",
    "spec_directory",
]


def __getattr__(name: str) -> Any:
    return resolve(__name__, _EXPORTS, name)
