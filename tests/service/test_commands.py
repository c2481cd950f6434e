"""``fieldline status | logs | replay`` against a prepared queue database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from fieldline.cli import cli
from fieldline.errors import ConfigError
from fieldline.queue import JobState
from fieldline.queue.run_store import RunLogEntry
from fieldline.queue.sqlite_queue import SQLiteJobQueue
from fieldline.queue.sqlite_run_store import SQLiteRunStore
from tests.service.fakes import event


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """A queue with one done, one waiting and two dead jobs, and a run log."""
    path = tmp_path / "fieldline.db"
    with SQLiteJobQueue(path) as queue, SQLiteRunStore(path) as store:
        queue.enqueue([event("e1", "p1"), event("e2", "p2"), event("e3", "p3")], source="passfort")
        done, bad, worse = queue.claim("w", limit=3)
        queue.complete([done])
        queue.fail(bad, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST: Status__c", permanent=True)
        queue.fail(worse, "timeout", permanent=True)
        queue.enqueue([event("e4", "p1")], source="passfort")
        store.record(
            [
                RunLogEntry(
                    entity_key="p1",
                    action="create",
                    record="applicant",
                    key="p1",
                    object="Account",
                    target_id="001A",
                    written={"Name": "Acme", "password": "hunter2"},
                    event_ids=("e1",),
                    job_ids=(1,),
                ),
                RunLogEntry(entity_key="p2", action="error", error="Status__c: bad value", event_ids=("e2",)),
            ]
        )
    return path


def run(*args: str) -> tuple[int, str, BaseException | None]:
    result = CliRunner().invoke(cli, list(args), env={"COLUMNS": "200"})
    return result.exit_code, result.output, result.exception


def test_status_shows_waiting_failures_and_dead_letters(db: Path) -> None:
    code, output, _ = run("status", "--db", str(db))
    assert code == 0
    assert "Waiting 1" in output
    assert "10 most recent failures" in output
    assert "INVALID_OR_NULL_FOR_RESTRIC" in output
    assert "dead letters (2)" in output
    assert "fieldline replay" in output


def test_status_json(db: Path) -> None:
    code, output, _ = run("status", "--db", str(db), "--json")
    document = json.loads(output)
    assert code == 0
    assert (document["summary"], document["dead_letters"]) == ("Waiting 1, 2 dead letters", 2)
    assert document["counts"] == {"todo": 1, "doing": 0, "done": 1, "dead": 2, "ignored": 0}
    assert {job["event_id"] for job in document["dead_letter_jobs"]} == {"e2", "e3"}
    assert document["last_processed_at"] is not None


def test_status_exits_1_when_stalled(db: Path) -> None:
    code, output, _ = run("status", "--db", str(db), "--stalled-after", "0")
    assert code == 1
    assert "Stalled" in output


def test_status_of_a_missing_database_is_a_clear_error(tmp_path: Path) -> None:
    _, _, exception = run("status", "--db", str(tmp_path / "nope.db"))
    assert isinstance(exception, ConfigError)
    assert "no queue database" in str(exception)
    assert not (tmp_path / "nope.db").exists(), "status must not create an empty database"


def test_logs_table_json_and_profile_filter(db: Path) -> None:
    code, output, _ = run("logs", "--db", str(db))
    assert code == 0
    assert "applicant p1" in output
    assert "hunter2" not in output
    code, output, _ = run("logs", "--db", str(db), "--json", "--profile", "p1")
    [line] = output.splitlines()
    entry = json.loads(line)
    assert (entry["entity"], entry["action"], entry["target_id"]) == ("p1", "create", "001A")
    assert entry["written"] == {"Name": "Acme", "password": "***"}


def test_replay_by_id_then_all(db: Path) -> None:
    with SQLiteJobQueue(db) as queue:
        dead = {letter.event_id: letter.job_id for letter in queue.dead_letters()}
    code, output, _ = run("replay", "--db", str(db), str(dead["e2"]))
    assert code == 0
    assert "Requeued 1" in output
    code, output, _ = run("replay", "--db", str(db), "--all")
    assert "Requeued 1" in output
    with SQLiteJobQueue(db) as queue:
        assert queue.state_of(dead["e3"]) is JobState.TODO
        assert queue.status().dead_letters == 0
    code, output, _ = run("replay", "--db", str(db), "--all")
    assert "No dead letters" in output


def test_replay_refuses_jobs_that_are_not_dead_letters(db: Path) -> None:
    _, _, exception = run("replay", "--db", str(db), "1", "999")
    assert isinstance(exception, ConfigError)
    assert "1 (done)" in str(exception)
    assert "999 (unknown)" in str(exception)


@pytest.mark.parametrize(
    "args",
    [
        pytest.param((), id="nothing-chosen"),
        pytest.param(("--all", "3"), id="both"),
        pytest.param(("--all", "--dry-run"), id="dry-run-without-spec"),
    ],
)
def test_replay_usage_errors(db: Path, args: tuple[str, ...]) -> None:
    code, output, _ = run("replay", "--db", str(db), *args)
    assert code == 2
    assert "Error" in output


@pytest.mark.parametrize(
    ("option", "expected"),
    [([], 30.0), (["--retention-days", "0"], None), (["--retention-days", "2.5"], 2.5)],
)
def test_serve_hands_its_retention_to_the_app(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, option: list[str], expected: float | None
) -> None:
    from fieldline.service.context import ServiceContext
    from tests.conftest import REPO_ROOT

    captured: dict[str, object] = {}

    class Captured(Exception):
        pass

    def create_app(self: ServiceContext, **kwargs: object) -> None:
        captured.update(kwargs)
        raise Captured  # stop before uvicorn starts

    monkeypatch.setattr(ServiceContext, "create_app", create_app)
    spec = REPO_ROOT / "mappings" / "passfort-salesforce.yaml"
    result = CliRunner().invoke(
        cli, ["serve", "--spec", str(spec), "--db", str(tmp_path / "f.db"), "--workers", "0", *option]
    )
    assert isinstance(result.exception, Captured) or "Captured" in result.output, result.output
    assert captured["retention_days"] == expected


@pytest.mark.parametrize(("option", "expected"), [([], 120.0), (["--lease-seconds", "15"], 15.0)])
def test_serve_hands_its_lease_to_the_workers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, option: list[str], expected: float
) -> None:
    from fieldline.service.context import ServiceContext
    from tests.conftest import REPO_ROOT

    leases: list[float] = []

    class Captured(Exception):
        pass

    def create_app(self: ServiceContext, **kwargs: object) -> None:
        leases.append(self.worker_settings.lease_seconds)
        raise Captured  # stop before uvicorn starts

    monkeypatch.setattr(ServiceContext, "create_app", create_app)
    spec = REPO_ROOT / "mappings" / "passfort-salesforce.yaml"
    result = CliRunner().invoke(
        cli, ["serve", "--spec", str(spec), "--db", str(tmp_path / "f.db"), "--workers", "0", *option]
    )
    assert isinstance(result.exception, Captured), result.output
    assert leases == [expected]
