"""The conformance templates fail on targets that break the contract (they are not vacuous)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from fieldline.adapters.files.target import FilesTarget
from fieldline.contracts import ApplyResult, LookupRequest, LookupResult, Stop, StopReason, Write, WriteResult
from fieldline.testing.target_suite import (
    TEMPLATES,
    TargetTestConfig,
    TargetTestTemplate,
    get_target_test_class,
)
from tests.conformance.test_files_conformance import OBJECTS


class ReversedResults(FilesTarget):
    def apply(self, writes: Sequence[Write]) -> ApplyResult:
        return ApplyResult(tuple(reversed(super().apply(writes).results)))


class UnsortedLookup(FilesTarget):
    def lookup(self, requests: Sequence[LookupRequest]) -> LookupResult:
        result = super().lookup(requests)
        return {
            slot: {value: list(reversed(records)) for value, records in found.items()}
            for slot, found in result.items()
        }


class AllOrNothing(FilesTarget):
    def apply(self, writes: Sequence[Write]) -> ApplyResult:
        results = super().apply(writes).results
        if any(not result.ok for result in results):
            return ApplyResult(
                tuple(WriteResult(key=result.key, ok=False, error=result.error) for result in results)
            )
        return ApplyResult(results)


class StopsEveryBatch(FilesTarget):
    """Claims a budget stop on batches it could finish: the suite's batches are tiny."""

    def apply(self, writes: Sequence[Write]) -> ApplyResult:
        return ApplyResult(super().apply(writes).results, stopped=Stop(StopReason.BUDGET, "budget"))


class ReturnsAList(FilesTarget):
    """The pre-ApplyResult contract: a bare sequence of results."""

    def apply(self, writes: Sequence[Write]) -> ApplyResult:
        return super().apply(writes).results  # type: ignore[return-value]  # the bug under test


def _template(name: str) -> type[TargetTestTemplate]:
    return next(template for template in TEMPLATES if template.name == name)


@pytest.mark.parametrize(
    ("target_class", "template_name"),
    [
        pytest.param(ReversedResults, "results_in_request_order", id="reversed-results"),
        pytest.param(UnsortedLookup, "lookup_sorted_by_id", id="unsorted-lookup"),
        pytest.param(AllOrNothing, "bad_record_fails_alone", id="all-or-nothing"),
        pytest.param(StopsEveryBatch, "create_returns_ids", id="stops-without-cause"),
        pytest.param(ReturnsAList, "create_returns_ids", id="returns-a-list"),
    ],
)
def test_broken_target_fails_the_template(
    tmp_path: Path, target_class: type[FilesTarget], template_name: str
) -> None:
    config = TargetTestConfig(
        make_target=lambda: target_class(tmp_path / "state.json", objects=OBJECTS),
        object_name="Widget",
        external_id_field="External_Id__c",
        text_field="Description__c",
    )
    target = config.make_target()
    with pytest.raises(AssertionError):
        _template(template_name)().run(target, config)


def test_factory_builds_one_test_per_template() -> None:
    cls = get_target_test_class(
        make_target=lambda: FilesTarget(Path("unused.json")),
        object_name="Widget",
        external_id_field="External_Id__c",
        text_field="Description__c",
    )
    tests = sorted(name for name in vars(cls) if name.startswith("test_"))
    assert tests == sorted(f"test_{template.name}" for template in TEMPLATES)
