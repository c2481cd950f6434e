"""Connector logs: every `fieldline sync` recorded; `runs`, `runs show`, `status`; trying a couple
of records first (`--key`, `--where`) and modes chosen at run time (`--mode`)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from fieldline.cli import cli
from fieldline.errors import ConfigError
from fieldline.queue.sqlite_sync_runs import SQLiteSyncRuns
from fieldline.queue.sync_runs import RunStatus
from tests.conftest import REPO_ROOT

EXAMPLE = REPO_ROOT / "mappings" / "examples"
FIRST = "b82b0434-f9e8-11e7-8397-000000000001"


@pytest.fixture
def example(tmp_path: Path) -> Path:
    shutil.copytree(EXAMPLE, tmp_path / "examples")
    return tmp_path / "examples" / "profiles-to-files.yaml"


def _invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def _state(example: Path) -> dict[str, list[dict[str, object]]]:
    loaded: dict[str, list[dict[str, object]]] = json.loads(
        (example.parent / "data" / "crm-state.json").read_text(encoding="utf-8")
    )
    return loaded


def test_every_sync_is_recorded_with_each_records_outcome(example: Path, tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    code, output = _invoke("sync", str(example), "--db", str(db))
    assert code == 0, output
    assert "run 1 recorded" in output
    with SQLiteSyncRuns(db) as log:
        [run] = log.runs()
        records = log.records(run.id)
    assert (run.spec, run.source, run.target, run.status) == (
        "profiles-to-files",
        "files",
        "files",
        RunStatus.OK,
    )
    assert len(run.spec_hash) == 12
    assert run.ended_at is not None
    assert run.ended_at >= run.started_at
    assert run.counts["create"] == 5
    assert run.counts["failed"] == 0
    assert [record.seq for record in records] == list(range(1, len(records) + 1))
    assert {record.document_key for record in records} >= {FIRST}
    created = [record for record in records if record.action == "create"]
    assert all(record.target_id for record in created)

    code, listed = _invoke("runs", "--db", str(db), "--json")
    assert code == 0, listed
    assert [json.loads(line)["id"] for line in listed.splitlines()] == [1]
    code, shown = _invoke("runs", "--db", str(db), "show", "1", "--key", FIRST, "--json")
    assert code == 0, shown
    lines = [json.loads(line) for line in shown.splitlines()]
    assert lines[0]["status"] == "ok"
    assert {line["document_key"] for line in lines[1:]} == {FIRST}
    assert len(lines) == 3  # the Account and its one application


def test_the_plans_explanation_is_kept_for_written_records_only(example: Path, tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    assert _invoke("sync", str(example), "--db", str(db))[0] == 0
    assert _invoke("sync", str(example), "--db", str(db))[0] == 0  # unchanged: noops
    with SQLiteSyncRuns(db) as log:
        first = log.records(1, key=FIRST)
        again = log.records(2, key=FIRST)
    created = next(record for record in first if record.action == "create")
    fields = {change["field"]: change for change in created.explanation["fields"]}
    assert fields, "each field of a created record, as the plan decided it"
    for change in fields.values():
        assert change["old"] == {"missing": True}
        assert change["decision"] in {"write", "missing", "null_skipped", "unmapped_skipped"}
        assert change["strategy"]
    assert any(change["decision"] == "write" for change in fields.values())
    assert all("fields" not in record.explanation for record in again if record.action == "noop")
    assert any(record.explanation.get("matched_by") for record in again), "how each record matched"

    code, shown = _invoke("runs", "--db", str(db), "show", "1", "--key", FIRST)
    assert code == 0, shown
    assert "old → new" in shown
    assert "(missing) →" in shown


def test_failed_records_are_shown_by_runs_show_errors_and_status(example: Path, tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    spec = example.read_text(encoding="utf-8").replace("length: 80}", "length: 3}", 1)  # Name of applications
    example.write_text(spec, encoding="utf-8")
    code, output = _invoke("sync", str(example), "--db", str(db))
    assert code == 1, output
    code, shown = _invoke("runs", "--db", str(db), "show", "1", "--errors", "--json")
    assert code == 0, shown
    run, *failed = (json.loads(line) for line in shown.splitlines())
    assert run["status"] == "failed"
    assert run["error"].startswith(f"{len(failed)} record(s) failed; first: application")
    assert failed
    assert all(record["error"] and "STRING_TOO_LONG" in record["error"] for record in failed)
    code, status = _invoke("status", "--db", str(db), "--json")
    assert code == 0, status
    latest = json.loads(status)["sync_runs"]["profiles-to-files"]
    assert latest["last_ok"] is None
    assert latest["last_failed"]["id"] == 1


def test_key_tries_one_document_first(example: Path, tmp_path: Path) -> None:
    code, output = _invoke("sync", str(example), "--key", FIRST, "--key", "no-such-key", "--json")
    assert code == 0, output
    assert "no document with key 'no-such-key'" in output
    state = _state(example)
    synced = [account["PassFort_Profile_Id__c"] for account in state["Account"]]
    assert [key for key in synced if key is not None] == [FIRST]  # beside the CRM's own Account


def test_where_selects_documents_with_the_specs_functions(example: Path) -> None:
    code, output = _invoke("sync", str(example), "--where", "lower(display_name) == 'passfort limited'")
    assert code == 0, output
    synced = [account["Name"] for account in _state(example)["Account"] if account["PassFort_Profile_Id__c"]]
    assert synced == ["PassFort Limited"]


def test_mode_chosen_at_run_time(example: Path) -> None:
    applications = _state(example)["PassFort_Application__c"]
    code, output = _invoke("sync", str(example), "--mode", "application=disabled", "--json")
    assert code == 0, output
    assert _state(example)["PassFort_Application__c"] == applications
    assert len(_state(example)["Account"]) == 3  # the other record keeps the spec's mode
    result = CliRunner().invoke(cli, ["sync", str(example), "--mode", "aplication=disabled"])
    assert isinstance(result.exception, ConfigError), "a ConfigError: `main` prints it and exits 2"
    assert "has no record 'aplication'" in str(result.exception)
    assert result.exception.hint == "did you mean 'application'?"


def test_a_run_that_raised_is_recorded_as_failed(example: Path, tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    (example.parent / "data" / "profiles.jsonl").write_text('{"id": "x"}\nnot json\n', encoding="utf-8")
    result = CliRunner().invoke(cli, ["sync", str(example), "--db", str(db), "--batch-size", "1"])
    assert result.exception is not None
    with SQLiteSyncRuns(db) as log:
        [run] = log.runs()
    assert run.status is RunStatus.FAILED
    assert run.error is not None
    assert "invalid JSON" in run.error
    assert run.counts["create"] == 1  # the first batch was written and counted


def test_old_runs_are_purged(tmp_path: Path) -> None:
    now = [1000.0]
    log = SQLiteSyncRuns(tmp_path / "r.db", clock=lambda: now[0])
    with log:
        run_id = log.start(spec="s", spec_hash="h", source="files", target="files", options={})
        log.finish(run_id, status=RunStatus.OK, counts={"create": 1})
        now[0] = 5000.0
        kept = log.start(spec="s", spec_hash="h", source="files", target="files", options={})
        log.finish(kept, status=RunStatus.OK, counts={})
        assert log.purge(before=2000.0) == 1
        assert [run.id for run in log.runs()] == [kept]


def test_plan_shows_as_invalid_exactly_what_sync_refuses(example: Path) -> None:
    text = example.read_text(encoding="utf-8")
    text = text.replace("Name: {type: string, length: 80}", "Name: {type: string, length: 3}")
    text = text.replace("Flag__c: {type: string, length: 80}", "Flag__c: {type: string, length: 2}")
    example.write_text(text, encoding="utf-8")
    planned = CliRunner().invoke(cli, ["plan", str(example), "--json"])
    assert planned.exit_code == 1, planned.output
    lines = [json.loads(line) for line in planned.output.splitlines()]  # JSON Lines
    [summary] = [line for line in lines if line["type"] == "summary"]
    records = [line for line in lines if line["type"] == "record"]
    invalid = {record["key"]: record for record in records if record["action"] == "invalid"}
    assert invalid
    assert summary["counts"]["invalid"] == len(invalid)
    assert all(
        any("STRING_TOO_LONG" in reason for reason in record["reasons"]) for record in invalid.values()
    )
    synced = CliRunner().invoke(cli, ["sync", str(example), "--json"])
    assert synced.exit_code == 1, synced.output
    failed = {
        outcome["key"]: outcome for outcome in json.loads(synced.stdout)["outcomes"] if outcome["error"]
    }
    assert set(failed) == set(invalid), "sync refuses exactly what plan showed as invalid"
    assert all(outcome["stage"] == "preflight" for outcome in failed.values())
    assert json.loads(synced.stdout)["counts"]["invalid"] == summary["counts"]["invalid"]
