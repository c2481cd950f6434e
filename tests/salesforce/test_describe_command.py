"""`fieldline describe OBJECT` against the emulator, and the plugin registration."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from fieldline.adapters.salesforce.emulator.server import EmulatorHandle
from fieldline.adapters.salesforce.target import SalesforceTarget
from fieldline.cli import cli
from fieldline.contracts import AdapterContext, AdapterKind
from fieldline.plugins.manager import adapter_registry, get_plugin_manager
from tests.conftest import REPO_ROOT


@pytest.fixture
def emulator_env(
    shared_emulator: EmulatorHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> EmulatorHandle:
    config = tmp_path / "fieldline.toml"
    config.write_text("[salesforce]\napi_version = 59.0\n")
    monkeypatch.setenv("FIELDLINE_CONFIG", str(config))
    for key, value in {
        "EMULATOR_URL": shared_emulator.url,
        "USERNAME": shared_emulator.username,
        "PASSWORD": shared_emulator.password,
        "SECURITY_TOKEN": shared_emulator.security_token,
        "CLIENT_ID": shared_emulator.client_id,
        "CLIENT_SECRET": shared_emulator.client_secret,
    }.items():
        monkeypatch.setenv(f"FIELDLINE_SALESFORCE_{key}", value)
    return shared_emulator


def test_describe_json(emulator_env: EmulatorHandle) -> None:
    result = CliRunner().invoke(cli, ["describe", "PassFort_Application__c", "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    fields = {field["name"]: field for field in document["fields"]}
    assert document["name"] == "PassFort_Application__c"
    assert fields["Application_ID__c"]["external_id"]
    assert fields["Status__c"]["picklist_values"] == [
        "Applied",
        "In review",
        "Approved",
        "Rejected",
        "Cancelled",
    ]
    assert fields["Status__c"]["restricted_picklist"]
    assert fields["Applicant__c"]["reference_to"] == ["Account"]
    assert fields["Flag__c"]["length"] == 80


def test_describe_table_from_a_spec(emulator_env: EmulatorHandle) -> None:
    spec = REPO_ROOT / "mappings" / "passfort-salesforce.yaml"
    result = CliRunner().invoke(cli, ["describe", "Account", "--spec", str(spec)])
    assert result.exit_code == 0, result.output
    assert "PassFort_Profile_Id__c" in result.output
    assert "Industry" in result.output


def test_describe_unknown_object_fails_cleanly(emulator_env: EmulatorHandle) -> None:
    result = CliRunner().invoke(cli, ["describe", "Nope__c"])
    assert result.exit_code != 0
    assert "Nope__c" in str(result.exception)


def test_plugin_registers_the_target_with_an_options_schema(emulator_env: EmulatorHandle) -> None:
    import jsonschema

    info = adapter_registry(get_plugin_manager(load_entrypoints=False))[("salesforce", AdapterKind.TARGET)]
    validator = jsonschema.Draft202012Validator(info.options_schema)
    assert not list(validator.iter_errors({"batch_size": 100, "bulk_threshold": 5000, "budget_share": 0.5}))
    assert list(validator.iter_errors({"batch_size": 500}))
    assert list(validator.iter_errors({"unknown": 1}))
    target = info.factory({"batch_size": 50}, AdapterContext(spec_folder=Path.cwd()))
    try:
        assert isinstance(target, SalesforceTarget)
        assert target.options.batch_size == 50
        assert target.describe("Lead").field("Company") is not None  # settings came from the environment
    finally:
        target.close()
