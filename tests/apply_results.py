"""Helpers for tests that call a target's ``apply`` directly."""

from __future__ import annotations

from fieldline.contracts import ApplyResult, WriteResult


def finished(applied: ApplyResult) -> tuple[WriteResult, ...]:
    """The results of a batch the target must have finished: no stop, so one per write."""
    assert applied.stopped is None, f"apply stopped: {applied.stopped}"
    return applied.results
