"""The tenants' connections file or folder, and `fieldline connections list|check`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from fieldline.adapters.salesforce.emulator import org_connection, running_orgs
from fieldline.cli import cli
from fieldline.config import Secret
from fieldline.errors import ConfigError
from fieldline.sync.tenants import load_connections
from tests.appevents.support import write_spec


def _write(path: Path, document: object) -> Path:
    path.write_text(json.dumps(document))
    return path


def test_a_file_gives_each_tenant_its_settings_with_secrets_resolved_from_references(tmp_path: Path) -> None:
    (tmp_path / "b.secret").write_text("from-a-file\n")
    path = _write(
        tmp_path / "connections.yaml",
        {
            "tenants": {
                "user-a": {
                    "salesforce": {"auth": "password", "username": "a@x", "password": {"env": "A_PW"}}
                },
                "user-b": {"salesforce": {"auth": "refresh_token", "refresh_token": {"file": "b.secret"}}},
            }
        },
    )
    loaded = load_connections(path, adapter="salesforce")
    assert loaded.names == {"user-a", "user-b"}
    a = loaded.tenants["user-a"].settings({"A_PW": "hunter2"})
    assert a["password"] == Secret("hunter2")
    assert "hunter2" not in repr(a)
    assert loaded.tenants["user-b"].settings({})["refresh_token"] == Secret("from-a-file")
    assert loaded.tenants["user-a"].described()["password"] == "<env:A_PW>"
    with pytest.raises(ConfigError, match="A_PW is not set"):
        loaded.tenants["user-a"].settings({})


def test_a_folder_holds_one_file_per_tenant(tmp_path: Path) -> None:
    folder = tmp_path / "tenants"
    folder.mkdir()
    _write(folder / "user-a.yaml", {"salesforce": {"username": "a@x", "password": {"env": "A"}}})
    _write(folder / "user-b.yml", {"salesforce": {"username": "b@x", "password": {"env": "B"}}})
    assert load_connections(folder, adapter="salesforce").names == {"user-a", "user-b"}


def test_every_problem_is_reported_and_inline_secrets_are_refused(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "connections.yaml",
        {
            "tenants": {
                "user-a": {"salesforce": {"password": "inline!"}},
                "user b": {"salesforce": {}},
                "user-c": {"files": {}},
                "user-d": {"salesforce": {"client_secret": {"vault": "x"}}},
            }
        },
    )
    with pytest.raises(ConfigError) as refused:
        load_connections(path, adapter="salesforce")
    message = str(refused.value)
    assert "'user-a': salesforce.password is a secret given inline" in message
    assert "inline!" not in message
    assert "'user b': a tenant name" in message
    assert "'user-c': expected `salesforce:`" in message
    assert "'user-d': salesforce.client_secret: a reference is {env: NAME} or {file: PATH}" in message


def test_connections_list_shows_references_and_check_logs_in_to_each_org(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with running_orgs(["user-a", "user-b"]) as orgs:
        connections = {}
        for sub, handle in orgs.items():
            connections[sub], secrets = org_connection(handle, env_prefix=sub.upper().replace("-", "_"))
            for name, value in secrets.items():
                monkeypatch.setenv(name, value)
        monkeypatch.delenv("USER_B_PASSWORD")  # user-b's secret is missing: its check fails alone
        spec = write_spec(tmp_path / "spec", connections=connections)
        runner = CliRunner()
        listed = runner.invoke(cli, ["connections", "list", str(spec)])
        assert listed.exit_code == 0, listed.output
        assert "user-a" in listed.output
        assert "<env:USER_A_PASSWORD>" in listed.output
        assert orgs["user-a"].password not in listed.output
        checked = runner.invoke(cli, ["connections", "check", str(spec)])
        assert checked.exit_code == 1, checked.output
        assert "user-a: ok (Lead:" in checked.output
        assert "user-b: FAILED:" in checked.output
        assert "USER_B_PASSWORD is not set" in checked.output
