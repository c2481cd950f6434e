"""`fieldline lookup SPEC NAME [VALUE] [--json]` against the emulator, on the shipped example."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from click.testing import CliRunner

from fieldline.adapters.salesforce.emulator.server import EmulatorHandle, running_emulator
from fieldline.cli import cli
from tests.conftest import REPO_ROOT
from tests.lookups.conftest import salesforce_env
from tests.salesforce.conftest import ORG_FILE
from tests.salesforce.source_fixtures import seed_accounts

EXAMPLE = str(REPO_ROOT / "mappings" / "examples" / "salesforce-accounts-to-files.yaml")


@pytest.fixture
def salesforce(monkeypatch: pytest.MonkeyPatch) -> Iterator[EmulatorHandle]:
    with running_emulator(ORG_FILE) as emulator:
        salesforce_env(monkeypatch, emulator)
        yield emulator


def test_found_as_json_and_as_a_table(salesforce: EmulatorHandle) -> None:
    (parent,) = seed_accounts(salesforce, [{"Name": "Holding"}])
    (account_id,) = seed_accounts(
        salesforce, [{"Name": "Acme", "AccountNumber": "APP-9", "ParentId": parent}]
    )
    result = CliRunner().invoke(cli, ["lookup", EXAMPLE, "account", "  APP-9 ", "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["status"] == 200
    assert body["id"] == account_id
    assert body["fields"] == {"name": "Acme", "industry": "Unknown", "employees": None, "parent": "Holding"}
    table = CliRunner().invoke(cli, ["lookup", EXAMPLE, "account", "APP-9"])
    assert table.exit_code == 0, table.output
    assert "Acme" in table.output


def test_not_found_and_several_exit_1(salesforce: EmulatorHandle) -> None:
    seed_accounts(salesforce, [{"Name": f"D{i}", "AccountNumber": "TWICE"} for i in range(2)])
    missing = CliRunner().invoke(cli, ["lookup", EXAMPLE, "account", "nobody"])
    assert missing.exit_code == 1
    assert "404: no record matches" in missing.output
    several = CliRunner().invoke(cli, ["lookup", EXAMPLE, "account", "TWICE"])
    assert several.exit_code == 1
    assert "409: 2 records match" in several.output


def test_salesforce_down_exits_2_with_when_to_retry(salesforce: EmulatorHandle) -> None:
    salesforce.set_faults(unavailable_next=100, retry_after=9)
    result = CliRunner().invoke(cli, ["lookup", EXAMPLE, "account", "x"])
    assert result.exit_code == 2
    assert "503" in result.output
    assert "retry after 9 s" in result.output


def test_describe_without_a_value_and_an_unknown_name(salesforce: EmulatorHandle) -> None:
    described = CliRunner().invoke(cli, ["lookup", EXAMPLE, "account", "--json"])
    assert described.exit_code == 0, described.output
    body = json.loads(described.stdout)
    assert body["index"] == {"field": "AccountNumber", "type": "string", "normalize": ["trim"]}
    assert body["fields"]["parent"]["type"] == "reference"
    unknown = CliRunner().invoke(cli, ["lookup", EXAMPLE, "acount", "x"])
    assert unknown.exit_code == 2
    assert "account, account_everything" in unknown.output
