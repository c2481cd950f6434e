"""Running a spec: build its adapters, then batch documents through source -> plan -> target."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fieldline.exports import exported, resolve

if TYPE_CHECKING:
    from fieldline.sync.adapter_builder import (
        adapter_context as adapter_context,
        build_adapter as build_adapter,
        build_source as build_source,
        build_target as build_target,
    )
    from fieldline.sync.runner import RecordOutcome as RecordOutcome, Runner as Runner, RunReport as RunReport

__all__ = exported(__file__)


def __getattr__(name: str) -> Any:
    return resolve(__name__, __file__, name)
