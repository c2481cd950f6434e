"""Adapter fixes from review: Bulk clears, a Bulk job seen through past the API budget,
non-finite numbers refused before sending, multi-select values given as lists."""

from __future__ import annotations

from typing import Any

import pytest

from fieldline.adapters.salesforce.budget import ApiBudget
from fieldline.adapters.salesforce.bulk import csv_cell
from fieldline.adapters.salesforce.emulator.server import EmulatorHandle
from fieldline.adapters.salesforce.preflight import preflight
from fieldline.contracts import (
    FieldDescription,
    FieldType,
    ObjectDescription,
    StopReason,
    Write,
    WriteOperation,
)
from fieldline.errors import BudgetExhaustedError
from tests.apply_results import finished

APP = "PassFort_Application__c"


def _upserts(count: int, prefix: str = "b", **fields: Any) -> list[Write]:
    return [
        Write(
            key=f"{prefix}{i}",
            object=APP,
            operation=WriteOperation.UPSERT,
            fields={"Application_ID__c": f"{prefix}-{i}", "Status__c": "Applied", **fields},
            external_id_field="Application_ID__c",
        )
        for i in range(count)
    ]


def test_an_empty_string_clears_through_bulk_as_through_collections(
    emulator: EmulatorHandle, make_target: Any
) -> None:
    assert csv_cell("") == csv_cell(None) == "#N/A"  # an empty cell would mean "leave unchanged"
    target = make_target(emulator, bulk_threshold=1)
    created = finished(target.apply(_upserts(3, Flag__c="X")))
    assert all(result.ok for result in created)
    cleared = finished(
        target.apply(
            [
                Write(
                    key=f"c{i}",
                    object=APP,
                    operation=WriteOperation.UPDATE,
                    fields={"Flag__c": ""},
                    target_id=r.target_id,
                )
                for i, r in enumerate(created)
            ]
        )
    )
    assert all(result.ok for result in cleared)
    assert emulator.stats()["by_kind"].get("bulk_create_job", 0) >= 2
    assert [record.get("Flag__c") for record in emulator.records(APP)] == [None, None, None]


def test_a_bulk_job_starts_only_within_the_budget_and_is_then_seen_through(
    emulator: EmulatorHandle, make_target: Any
) -> None:
    target = make_target(emulator, bulk_threshold=10)
    target.describe(APP)  # one call, so the budget has seen usage
    budget = target.client.budget
    budget.share = 0.5
    budget.cap = budget.used + 3  # less than a job takes: refused before anything is uploaded
    stopped = target.apply(_upserts(50))
    assert stopped.stopped is not None
    assert stopped.stopped.reason is StopReason.BUDGET
    assert "the next step needs 6" in stopped.stopped.message
    assert stopped.results == (), "nothing was sent"
    assert emulator.records(APP) == [], "no job was started, so nothing went unrecorded"

    budget.cap = budget.used + 6  # one job's worth: create, upload, close, poll, results
    results = finished(target.apply(_upserts(50)))
    assert all(result.ok and result.target_id for result in results), "every write is recorded"
    assert len(emulator.records(APP)) == 50


def test_committed_budget_checks_once_up_front() -> None:
    budget = ApiBudget(share=0.5, cap=10, used=6)
    with pytest.raises(BudgetExhaustedError), budget.committed(6):
        pass
    with budget.committed(4):
        budget.used = 12
        budget.check()  # past the cap, but inside work that must finish
    with pytest.raises(BudgetExhaustedError):
        budget.check()


def test_non_finite_numbers_are_refused_before_sending(emulator: EmulatorHandle, make_target: Any) -> None:
    target = make_target(emulator)
    writes = [
        Write(
            key=name,
            object="Account",
            operation=WriteOperation.CREATE,
            fields={"Name": name, "AnnualRevenue": value},
        )
        for name, value in (("ok", 10.0), ("nan", float("nan")), ("inf", float("inf")))
    ]
    ok, nan, inf = finished(target.apply(writes))
    assert ok.ok
    for refused in (nan, inf):
        assert not refused.ok
        assert refused.error is not None
        assert (refused.error.code, refused.error.stage) == ("INVALID_TYPE_ON_FIELD_IN_RECORD", "preflight")
    assert [
        record["Name"] for record in emulator.records("Account") if record["Name"] in ("ok", "nan", "inf")
    ] == ["ok"]


def test_a_multi_select_value_may_be_a_list() -> None:
    description = ObjectDescription(
        name="Account",
        fields={
            "name": FieldDescription(name="Name", required=True),
            "multi__c": FieldDescription(
                name="Multi__c",
                type=FieldType.MULTIPICKLIST,
                picklist_values=("A", "B", "C"),
                restricted_picklist=True,
            ),
        },
    )

    def check(value: Any) -> str | None:
        write = Write(
            key="k",
            object="Account",
            operation=WriteOperation.CREATE,
            fields={"Name": "n", "Multi__c": value},
        )
        error = preflight(write, description)
        return None if error is None else error.code

    assert check(["A", "C"]) is None
    assert check("A;C") is None
    assert check(["A", "Z"]) == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
