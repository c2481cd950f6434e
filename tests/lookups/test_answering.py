"""The lookup runner with an in-memory finder: mapping errors and adapter bugs never escape."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from fieldline.contracts import FieldDescription, ObjectDescription
from fieldline.lookups.answering import LookupRunner
from fieldline.lookups.finder import FinderPool
from fieldline.spec.loader import load_spec_text

SPEC = """
fieldline: 1
name: memory
records: [{name: a, object: Account, fields: {Name: n}}]
lookups:
  strict:
    object: Account
    index: Key
    fields: {tier: {value: Tier, map: {Gold: gold}}}
"""


class Finder:
    def __init__(self, records: Sequence[Mapping[str, Any]], *, fail: Exception | None = None) -> None:
        self.records = records
        self.fail = fail

    def describe(self, object_name: str) -> ObjectDescription:
        return ObjectDescription(
            object_name, {"Key": FieldDescription("Key"), "Tier": FieldDescription("Tier")}
        )

    def readable_fields(self, object_name: str) -> tuple[str, ...]:
        return ("Key", "Tier")

    def find(
        self,
        object_name: str,
        field: str,
        values: Sequence[Any],
        fields: Sequence[str],
        *,
        normalize: Sequence[str] = (),
        normalizer: Callable[[Any], Any] | None = None,
    ) -> Mapping[Any, Sequence[Mapping[str, Any]]]:
        if self.fail is not None:
            raise self.fail
        return {value: [r for r in self.records if r["Key"] == value] for value in values}

    def close(self) -> None:
        return None


def _runner(finder: Finder) -> LookupRunner:
    spec = load_spec_text(SPEC)
    return LookupRunner(spec.lookups["strict"], FinderPool(lambda: finder), normalizers={})


def test_an_unmapped_value_is_500_and_a_recorded_failure_without_the_value() -> None:
    runner = _runner(Finder([{"Id": "001", "Key": "K-1", "Tier": "Platinum"}]))
    answer = runner.answer("K-1")
    assert answer.status == 500
    assert "not in map" in answer.body["error"]
    assert "Platinum" not in str(answer.body)
    assert runner.stats.as_json()["last_hour"] == {"succeeded": 0, "failed": 1}


def test_an_adapter_bug_is_502_with_retry_after_and_no_traceback() -> None:
    runner = _runner(Finder([], fail=RuntimeError("boom at K-9")))
    answer = runner.answer("K-9")
    assert answer.status == 502
    assert answer.retry_after == 30
    assert runner.stats.last_error == "unexpected RuntimeError"
