"""Bulk API 2.0 path: above bulk_threshold, results mapped back to their writes."""

from __future__ import annotations

from typing import Any

import pluggy

from fieldline.adapters.salesforce.emulator.server import EmulatorHandle
from fieldline.adapters.salesforce.target import SalesforceTarget
from fieldline.contracts import SourceDocument, StopReason, Write, WriteOperation
from fieldline.sync.runner import OutcomeStage, Runner, RunReport
from tests.apply_results import finished
from tests.salesforce.fakes import FakeTransport, Reply, Seen
from tests.salesforce.test_client_fakes import DESCRIBE, INSTANCE, PASSWORD_SETTINGS
from tests.strategies import make_spec, match_rule, record, value_field

APP = "PassFort_Application__c"


def _upserts(count: int, **fields: Any) -> list[Write]:
    return [
        Write(
            key=f"k{i}",
            object=APP,
            operation=WriteOperation.UPSERT,
            fields={"Application_ID__c": f"bulk-{i}", "Status__c": "Applied", **fields},
            external_id_field="Application_ID__c",
        )
        for i in range(count)
    ]


def _stored(handle: EmulatorHandle) -> dict[str, dict[str, Any]]:
    return {str(record["Application_ID__c"]): record for record in handle.records(APP)}


def test_bulk_upsert_then_update_maps_ids(emulator: EmulatorHandle, make_target: Any) -> None:
    target = make_target(emulator, bulk_threshold=50)
    results = finished(target.apply(_upserts(120, Flag__c="x")))
    assert all(result.ok and result.created for result in results)
    stored = _stored(emulator)
    assert len(stored) == 120
    for i, result in enumerate(results):
        assert stored[f"bulk-{i}"]["Id"] == result.target_id
    by_kind = emulator.stats()["by_kind"]
    assert by_kind["bulk_create_job"] == 1
    assert by_kind.get("collections_upsert", 0) == 0
    calls = sum(count for kind, count in by_kind.items() if kind.startswith("bulk_"))
    assert calls <= 10
    updates = [
        Write(
            key=f"u{i}",
            object=APP,
            operation=WriteOperation.UPDATE,
            fields={"Flag__c": None if i % 2 else "y"},
            target_id=result.target_id,
        )
        for i, result in enumerate(results)
    ]
    updated = finished(target.apply(updates))
    assert all(result.ok and not result.created for result in updated)
    assert [result.target_id for result in updated] == [result.target_id for result in results]
    stored = _stored(emulator)
    assert stored["bulk-0"]["Flag__c"] == "y"
    assert stored["bulk-1"]["Flag__c"] is None  # "#N/A" clears the field
    assert emulator.stats()["by_kind"]["bulk_create_job"] == 2


def test_bulk_insert_of_identical_rows_gets_distinct_ids(emulator: EmulatorHandle, make_target: Any) -> None:
    target = make_target(emulator, bulk_threshold=5)
    writes = [
        Write(key=f"same{i}", object="Account", operation=WriteOperation.CREATE, fields={"Name": "Twin"})
        for i in range(8)
    ]
    results = finished(target.apply(writes))
    assert all(result.ok and result.created for result in results)
    assert len({result.target_id for result in results}) == 8
    assert len(emulator.records("Account")) == 8


def test_bulk_failures_map_to_the_right_keys(emulator: EmulatorHandle, make_target: Any) -> None:
    # Failed rows (UNKNOWN_EXCEPTION, retriable) go through Collections once more, which fails
    # about half of them again: max_retries=0 keeps those failures final.
    emulator.set_faults(write_error_rate=0.5, seed=5)
    target = make_target(emulator, bulk_threshold=20, max_retries=0)
    results = finished(target.apply(_upserts(200)))
    emulator.set_faults(write_error_rate=0.0)
    stored = _stored(emulator)
    failed = [result for result in results if not result.ok]
    assert 10 < len(failed) < 100
    for i, result in enumerate(results):
        assert (f"bulk-{i}" in stored) == result.ok
        if not result.ok:
            assert result.error is not None
            assert result.error.code == "UNKNOWN_EXCEPTION"
            assert result.error.stage == "target"


def test_bulk_lock_errors_are_retried_through_collections(emulator: EmulatorHandle, make_target: Any) -> None:
    emulator.set_faults(lock_error_rate=0.2, seed=9)
    target = make_target(emulator, bulk_threshold=20, max_retries=12)
    results = finished(target.apply(_upserts(100)))
    assert all(result.ok for result in results), [result.error for result in results if not result.ok]
    assert len(_stored(emulator)) == 100
    assert emulator.stats()["by_kind"]["collections_upsert"] >= 1


def test_failed_job_reports_unprocessed_rows_as_retriable() -> None:
    def org(seen: Seen) -> Reply:
        if seen.path.endswith("/oauth2/token"):
            return 200, {"access_token": "t", "instance_url": INSTANCE}
        if seen.path.endswith("/describe"):
            return 200, DESCRIBE
        if seen.path.endswith("/jobs/ingest") and seen.method == "POST":
            return 200, {"id": "750x", "state": "Open"}
        if seen.path.endswith("/batches"):
            return 201, None
        if seen.method == "PATCH":
            return 200, {"id": "750x", "state": "UploadComplete"}
        if seen.path.endswith("/jobs/ingest/750x"):
            return 200, {
                "id": "750x",
                "state": "Failed",
                "numberRecordsProcessed": 0,
                "numberRecordsFailed": 0,
                "errorMessage": "InvalidBatch: too many retries",
            }
        return 404, [{"errorCode": "NOT_FOUND", "message": "no"}]

    slept: list[float] = []
    transport = FakeTransport(org)
    target = SalesforceTarget(
        {"bulk_threshold": 2}, settings=PASSWORD_SETTINGS, transport=transport, sleep=slept.append
    )
    writes = [
        Write(key=f"n{i}", object="Thing__c", operation=WriteOperation.CREATE, fields={"Name": f"n{i}"})
        for i in range(3)
    ]
    results = finished(target.apply(writes))
    target.close()
    assert [result.key for result in results] == ["n0", "n1", "n2"]
    for result in results:
        assert not result.ok
        assert result.error is not None
        assert result.error.code == "UNPROCESSED"
        assert result.error.retriable
        assert "too many retries" in result.error.message
    upload = next(seen for seen in transport.seen if seen.path.endswith("/batches"))
    assert upload.body == "Name\nn0\nn1\nn2\n"
    assert slept == [0.25]


def test_bulk_row_errors_name_their_fields(emulator: EmulatorHandle, make_target: Any) -> None:
    target = make_target(emulator, bulk_threshold=2)
    # a well-formed id of no Account: only the server can tell
    writes = _upserts(3)
    writes[1] = _upserts(2, Applicant__c="001000000000000AAA")[1]
    results = finished(target.apply(writes))
    assert [result.ok for result in results] == [True, False, True]
    error = results[1].error
    assert error is not None
    assert (error.code, error.message, error.fields) == (
        "INVALID_CROSS_REFERENCE_KEY",
        "invalid cross reference id",
        ("Applicant__c",),
    )


def test_a_daily_limit_at_a_later_batchs_bulk_job_stops_the_run_with_what_was_written(
    emulator: EmulatorHandle, make_target: Any, plugin_manager: pluggy.PluginManager
) -> None:
    spec = make_spec(
        record(
            "application",
            APP,
            [value_field("Application_ID__c", "id"), value_field("Status__c", "status")],
            [match_rule("Application_ID__c", "id")],
        )
    )

    def documents(prefix: str, count: int) -> list[SourceDocument]:
        return [
            SourceDocument(f"{prefix}{i}", {"id": f"{prefix}{i}", "status": "Applied"}) for i in range(count)
        ]

    target = make_target(emulator, bulk_threshold=10)
    # batch by batch (no write window): each batch's writes are their own bulk job
    runner = Runner(spec, target, plugin_manager=plugin_manager, batch_size=30, write_window=0)
    queries = emulator.stats()["by_kind"].get("query", 0)
    assert runner.sync(documents("warm", 30)).ok  # describe and login happen here
    lookup_calls = emulator.stats()["by_kind"]["query"] - queries

    def after_batch(batch: RunReport) -> None:
        if batch.stopped is None:  # the next batch's lookups go through, its bulk job does not
            emulator.set_faults(daily_limit=emulator.stats()["api_usage"] + lookup_calls)

    report = runner.sync(documents("run", 90), on_batch=after_batch)
    assert report.stopped is not None
    assert report.stopped.reason is StopReason.DAILY_LIMIT
    assert "bulk upsert" in report.stopped.message
    written = [o.key for o in report.outcomes if o.ok]
    assert written == [f"run{i}" for i in range(30)]
    not_sent = [o.key for o in report.outcomes if o.stage is OutcomeStage.STOPPED]
    assert not_sent == [f"run{i}" for i in range(30, 60)]
    assert report.counts["not_sent"] == 30
    stored = {record["Application_ID__c"] for record in emulator.records(APP)}
    assert {f"run{i}" for i in range(30)} <= stored
    assert not stored & {f"run{i}" for i in range(30, 90)}, "nothing after the stop was written"
