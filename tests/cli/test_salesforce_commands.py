"""`fieldline plan` and `sync` from a files source into the Salesforce emulator, configured the way a
user would (environment variables), and `validate --against salesforce`."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from click.testing import CliRunner

from fieldline.adapters.salesforce.emulator.server import EmulatorHandle, running_emulator
from fieldline.cli import cli
from tests.conftest import REPO_ROOT, use_emulator_login
from tests.plan_lines import read_plan_lines

SPEC = REPO_ROOT / "mappings" / "examples" / "profiles-to-salesforce.yaml"
ORG = REPO_ROOT / "mappings" / "passfort-salesforce.org.yaml"


@pytest.fixture
def salesforce(monkeypatch: pytest.MonkeyPatch) -> Iterator[EmulatorHandle]:
    with running_emulator(ORG) as emulator:
        use_emulator_login(monkeypatch, emulator)
        yield emulator


def test_validate_against_the_org(salesforce: EmulatorHandle) -> None:
    result = CliRunner().invoke(cli, ["validate", str(SPEC), "--against", "salesforce"])
    assert result.exit_code == 0, result.output


def test_plan_sync_then_nothing_left_to_write(salesforce: EmulatorHandle) -> None:
    runner = CliRunner()
    planned = read_plan_lines(runner.invoke(cli, ["plan", str(SPEC), "--json"]).output)
    assert planned["counts"]["create"] == 7
    assert salesforce.stats()["writes"] == 0

    synced = runner.invoke(cli, ["sync", str(SPEC), "--json"])
    assert synced.exit_code == 0, synced.output
    assert json.loads(synced.stdout)["counts"]["create"] == 7
    assert salesforce.stats()["records"]["PassFort_Application__c"] == 4

    replanned = read_plan_lines(runner.invoke(cli, ["plan", str(SPEC), "--json"]).output)
    assert replanned["counts"]["noop"] == 7


def test_a_sync_stopped_by_the_api_limit_reports_what_was_done(salesforce: EmulatorHandle) -> None:
    used = salesforce.stats()["api_usage"]
    salesforce.set_faults(daily_limit=used + 6)  # enough for a batch or two, not for all
    result = CliRunner().invoke(cli, ["sync", str(SPEC), "--json", "--batch-size", "1"])
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit), "a stop is reported, not raised"
    done = json.loads(result.stdout)
    assert done["stopped"]["reason"] == "daily_limit"
    assert "API request limit" in done["stopped"]["message"]
    written = [o for o in done["outcomes"] if o["error"] is None and o["action"] in ("create", "update")]
    assert written, "the batches before the stop are reported"
    stored = sum(len(salesforce.records(name)) for name in ("Account", "PassFort_Application__c"))
    assert len(written) == stored, "every record written is in the report"
    assert all(o["retriable"] for o in done["outcomes"] if o["error"] is not None)
    assert {o["stage"] for o in done["outcomes"] if o["error"] is not None} <= {"stopped"}


def test_a_stopped_sync_says_why_and_what_to_do_in_text(salesforce: EmulatorHandle) -> None:
    salesforce.set_faults(daily_limit=salesforce.stats()["api_usage"] + 6)
    result = CliRunner().invoke(cli, ["sync", str(SPEC), "--batch-size", "1"], env={"COLUMNS": "200"})
    assert result.exit_code == 2, result.output
    assert "(ended early: what" in result.output
    assert "not_sent" in result.output
    assert "stopped early" in result.output
    assert "API request limit" in result.output
    assert "run sync again later" in result.output
    assert "Traceback" not in result.output
