"""`fieldline plan`, `sync` and `plugins` through click's runner, on the shipped offline example."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from fieldline.cli import cli
from fieldline.errors import TransientAdapterError
from tests.conftest import REPO_ROOT
from tests.plan_lines import read_plan_lines

EXAMPLE = REPO_ROOT / "mappings" / "examples"


@pytest.fixture
def example(tmp_path: Path) -> Path:
    """A copy of the example spec and its data, so syncing does not touch the shipped files."""
    shutil.copytree(EXAMPLE, tmp_path / "examples")
    return tmp_path / "examples" / "profiles-to-files.yaml"


def test_plan_json_explains_every_record(example: Path) -> None:
    result = CliRunner().invoke(cli, ["plan", str(example), "--json"])
    assert result.exit_code == 0, result.output
    plan = read_plan_lines(result.output)
    assert plan["counts"]["create"] == 5
    assert plan["counts"]["update"] == 2
    forexo = next(r for r in plan["records"] if r["key"] == "c0ffee00-0000-4000-8000-000000000002")
    assert forexo["action"] == "update"
    assert forexo["matched_by"] == "Id = 'Account-000001'"
    name = next(f for f in forexo["fields"] if f["field"] == "Name")
    assert (name["old"], name["new"], name["decision"]) == ("Forexo", "Forexo Trading Ltd", "kept")


def test_plan_text_shows_actions_and_decisions(example: Path) -> None:
    result = CliRunner().invoke(cli, ["plan", str(example)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "matched Id = 'Account-000001'" in result.output
    assert "kept" in result.output
    assert "map 'IN_REVIEW' -> 'In review'" in result.output


def test_sync_writes_then_resync_is_all_noop(example: Path) -> None:
    runner = CliRunner()
    first = runner.invoke(cli, ["sync", str(example), "--json"])
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)["counts"]["failed"] == 0
    state = json.loads((example.parent / "data" / "crm-state.json").read_text(encoding="utf-8"))
    assert len(state["Account"]) == 3
    assert len(state["PassFort_Application__c"]) == 4
    applicants = {a["PassFort_Profile_Id__c"]: a["Id"] for a in state["Account"]}
    for application in state["PassFort_Application__c"]:
        assert application["Applicant__c"] in applicants.values()
    second = runner.invoke(cli, ["plan", str(example), "--json"])
    counts = read_plan_lines(second.output)["counts"]
    assert counts["create"] == counts["update"] == 0
    assert counts["noop"] == 7


def test_plan_of_a_broken_spec_lists_located_problems(tmp_path: Path) -> None:
    spec = tmp_path / "broken.yaml"
    spec.write_text(
        "fieldline: 1\nname: x\nrecords:\n  - name: a\n    object: A\n    fields: {F: 'lowr(x)'}\n"
    )
    result = CliRunner().invoke(cli, ["plan", str(spec)])
    assert result.exit_code == 1
    assert f"{spec}:6:" in result.output
    assert "lowr" in result.output


@pytest.mark.parametrize("command", ["plan", "sync"])
def test_a_spec_that_cannot_be_read_is_exit_2_like_validate(tmp_path: Path, command: str) -> None:
    missing = tmp_path / "absent.yaml"
    result = CliRunner().invoke(cli, [command, str(missing)])
    assert result.exit_code == 2, result.output
    assert f"{missing}: no such file" in result.output


def test_plugins_lists_builtins_with_their_hooks() -> None:
    result = CliRunner().invoke(cli, ["plugins", "--json"])
    assert result.exit_code == 0, result.output
    listing = json.loads(result.output)
    by_module = {p["module"]: p for p in listing["plugins"]}
    assert "register_adapters" in by_module["fieldline.adapters.files.plugin"]["hooks"]
    assert {"name": "salesforce", "kind": "target"} in [
        {"name": a["name"], "kind": a["kind"]} for a in listing["adapters"]
    ]
    assert "root_domain" in listing["functions"]
    assert "email" in listing["normalizers"]


def test_a_sync_that_fails_after_some_batches_says_what_they_did(
    example: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fieldline.adapters.files.target import FilesTarget

    real_lookup = FilesTarget.lookup
    calls: list[int] = []

    def lookup(self: FilesTarget, requests: Any) -> Any:
        calls.append(len(requests))
        if len(calls) > 1:  # the second batch cannot reach the target
            raise TransientAdapterError("cannot reach the target: connection refused")
        return real_lookup(self, requests)

    monkeypatch.setattr(FilesTarget, "lookup", lookup)
    result = CliRunner().invoke(cli, ["sync", str(example), "--json", "--batch-size", "1"])
    assert isinstance(result.exception, TransientAdapterError), "a failure raises (`main` exits 2)"
    done = json.loads(result.stdout)
    assert "stopped" not in done, "a failure is not a stop"
    assert done["outcomes"], "the first batch's outcomes are reported"
    assert all(o["error"] is None for o in done["outcomes"])
    assert {o["key"].split("[", 1)[0] for o in done["outcomes"]} == {done["outcomes"][0]["key"]}
