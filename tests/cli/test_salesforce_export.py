"""`fieldline sync` of the shipped Salesforce -> files export example against the emulator."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from fieldline.adapters.salesforce.emulator.server import EmulatorHandle, running_emulator
from fieldline.cli import cli
from tests.conftest import REPO_ROOT, use_emulator_login
from tests.salesforce.source_fixtures import seed_accounts

EXAMPLE = REPO_ROOT / "mappings" / "examples" / "salesforce-accounts-to-files.yaml"
ORG = REPO_ROOT / "mappings" / "passfort-salesforce.org.yaml"


@pytest.fixture
def salesforce(monkeypatch: pytest.MonkeyPatch) -> Iterator[EmulatorHandle]:
    with running_emulator(ORG) as emulator:
        use_emulator_login(monkeypatch, emulator)
        yield emulator


def test_the_export_example_writes_every_customer_account_once(
    salesforce: EmulatorHandle, tmp_path: Path
) -> None:
    spec = tmp_path / EXAMPLE.name
    shutil.copy(EXAMPLE, spec)
    ids = seed_accounts(
        salesforce,
        [
            {
                "Name": "Acme",
                "Type": "Customer",
                "Website": "https://www.acme.com/app",
                "NumberOfEmployees": 40,
            },
            {"Name": "Globex", "Type": "Customer", "AccountNumber": "G-7"},
            {"Name": "Prospect Ltd", "Type": "Prospect"},
        ],
    )
    runner = CliRunner()
    synced = runner.invoke(cli, ["sync", str(spec), "--json"])
    assert synced.exit_code == 0, synced.output
    assert json.loads(synced.stdout)["counts"]["create"] == 2

    exported = json.loads((tmp_path / "data" / "salesforce-accounts.json").read_text())
    accounts = {row["Salesforce_Id"]: row for row in exported["Account"]}
    assert set(accounts) == {ids[0], ids[1]}
    assert accounts[ids[0]]["Domain"] == "acme.com"
    assert accounts[ids[0]]["Employees"] == 40
    assert accounts[ids[1]]["Industry"] == "Unknown"
    assert accounts[ids[1]]["Account_Number"] == "G-7"

    again = runner.invoke(cli, ["sync", str(spec), "--json"])
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["counts"]["noop"] == 2
