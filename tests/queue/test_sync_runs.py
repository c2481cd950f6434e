"""Connector logs on each backend (SQLite and PostgreSQL): the same behaviour, one test each."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from fieldline.queue.run_store import REDACTED
from fieldline.queue.sync_runs import RunStatus, SyncRunLog, SyncRunRecord

Clock = list[float]


@pytest.fixture(params=["sqlite", "postgresql"])
def make_log(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[Clock], SyncRunLog]]:
    opened: list[SyncRunLog] = []

    def make(clock: Clock) -> SyncRunLog:
        if request.param == "sqlite":
            from fieldline.queue.sqlite_sync_runs import SQLiteSyncRuns

            log: SyncRunLog = SQLiteSyncRuns(tmp_path / "runs.db", clock=lambda: clock[0])
        else:
            from fieldline.queue.postgres_db import PostgresDatabase
            from fieldline.queue.postgres_sync_runs import PostgresSyncRuns

            url = request.getfixturevalue("pg_url")
            log = PostgresSyncRuns(PostgresDatabase(url, pool_min=1, pool_max=2), clock=lambda: clock[0])
        opened.append(log)
        return log

    yield make
    for log in opened:
        log.close()


def _record(run_id: int, seq: int, *, error: str | None = None, key: str = "k") -> SyncRunRecord:
    return SyncRunRecord(
        run_id=run_id,
        seq=seq,
        record="company",
        key=f"{key}[{seq}]",
        document_key=key,
        object="Account",
        action="create",
        target_id=None if error else f"001{seq:015d}",
        error=error,
        stage="target" if error else None,
        retriable=bool(error),
        written={"Name": "Acme", "api_key": "s3cret"},
    )


def test_a_run_its_records_and_the_latest_per_spec(make_log: Callable[[Clock], SyncRunLog]) -> None:
    clock = [1000.0]
    log = make_log(clock)
    first = log.start(
        spec="enrich", spec_hash="abc", source="files", target="salesforce", options={"limit": 5}
    )
    log.add(first, [_record(first, 1), _record(first, 2, error="STRING_TOO_LONG: Name", key="b")])
    clock[0] = 1010.0
    log.finish(first, status=RunStatus.FAILED, counts={"create": 1, "failed": 1}, error="1 record(s) failed")
    second = log.start(spec="enrich", spec_hash="abd", source="files", target="salesforce", options={})
    log.finish(second, status=RunStatus.OK, counts={"noop": 2})
    running = log.start(spec="other", spec_hash="x", source="files", target="files", options={})

    assert [run.id for run in log.runs()] == [running, second, first]
    assert [run.id for run in log.runs(spec="enrich", limit=1)] == [second]
    assert [run.id for run in log.runs(status=RunStatus.RUNNING)] == [running]
    run = log.run(first)
    assert run is not None
    assert (run.status, run.counts, run.options, run.ended_at) == (
        RunStatus.FAILED,
        {"create": 1, "failed": 1},
        {"limit": 5},
        1010.0,
    )
    assert log.run(running) is not None
    assert log.run(9999) is None
    records = log.records(first)
    assert [record.seq for record in records] == [1, 2]
    assert records[0].written == {"Name": "Acme", "api_key": REDACTED}, "credentials never reach the log"
    assert [record.seq for record in log.records(first, errors_only=True)] == [2]
    assert [record.seq for record in log.records(first, key="b")] == [2]
    assert [record.seq for record in log.records(first, limit=1)] == [1]
    latest = log.latest()
    good, bad = latest["enrich"]
    assert (good.id if good else None, bad.id if bad else None) == (second, first)
    assert "other" not in latest  # still running: neither good nor bad yet

    assert log.purge(before=1005.0) == 0  # ended at 1010 and later
    clock[0] = 5000.0
    assert log.purge(before=2000.0) == 2  # the two ended runs; the running one stays
    assert [run.id for run in log.runs()] == [running]
    assert log.records(first) == []


def test_credential_fields_are_hidden_in_the_explanation_too(make_log: Callable[[Clock], SyncRunLog]) -> None:
    """``written`` hides ``api_key`` by its key; the explanation names fields as values
    (``{"field": "Api_Token__c", "new": ...}``), so their old and new values are hidden by name."""
    log = make_log([1000.0])
    run = log.start(spec="enrich", spec_hash="abc", source="files", target="salesforce", options={})
    change = {"strategy": "override", "decision": "write", "reason": "value changed"}
    explanation = {
        "matched_by": "Name = 'Acme'",
        "fields": [
            {"field": "Api_Token__c", "old": "old-s3cret", "new": "new-s3cret", **change},
            {"field": "Name", "old": "Acme", "new": {"nested": 1, "password": "s3cret"}, **change},
        ],
    }
    log.add(run, [replace(_record(run, 1), explanation=explanation)])
    (record,) = log.records(run)
    fields = record.explanation["fields"]
    assert (fields[0]["old"], fields[0]["new"]) == (REDACTED, REDACTED)
    assert fields[1]["new"] == {"nested": 1, "password": REDACTED}
    assert record.explanation["matched_by"] == "Name = 'Acme'"
    assert "s3cret" not in json.dumps(record.explanation)


def test_the_recorders_explanations_hide_credential_fields(make_log: Callable[[Clock], SyncRunLog]) -> None:
    from fieldline.planning.plans import Action, Decision, FieldChange, RecordPlan
    from fieldline.spec.model import Spec, Strategy
    from fieldline.sync.connector_log import RunRecorder
    from fieldline.sync.report import RecordOutcome, RunReport
    from fieldline.values import MISSING

    log = make_log([1000.0])
    changes = tuple(
        FieldChange(name, MISSING, value, Strategy.OVERRIDE, Decision.WRITE, "new record")
        for name, value in (
            ("Name", "Acme"),
            ("Api_Token__c", "s3cret"),
            ("Config__c", {"password": "s3cret"}),
        )
    )
    plan = RecordPlan(record="company", object="Account", key="k", action=Action.CREATE, changes=changes)
    outcome = RecordOutcome(
        record="company", key="k", document_key="k", object="Account", action=Action.CREATE, plan=plan
    )
    recorder = RunRecorder(log, Spec(name="enrich", records=()), options={})
    recorder.on_batch(RunReport(outcomes=[outcome]))
    (record,) = log.records(recorder.run_id)
    fields = {change["field"]: change for change in record.explanation["fields"]}
    assert fields["Name"]["new"] == "Acme"
    assert fields["Api_Token__c"]["new"] == REDACTED
    assert fields["Config__c"]["new"] == {"password": REDACTED}
    assert "s3cret" not in json.dumps(record.explanation)
