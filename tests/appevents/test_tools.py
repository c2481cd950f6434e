"""`fieldline appevents keys|token|send` and what `validate` checks of an appevents spec."""

from __future__ import annotations

import json
from pathlib import Path

import jwt
import pytest
from click.testing import CliRunner

from fieldline.cli import cli
from tests.appevents.support import write_spec


def test_keys_and_token_make_a_token_the_source_accepts(tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(cli, ["appevents", "keys", "--out", str(tmp_path)]).exit_code == 0
    made = runner.invoke(
        cli,
        ["appevents", "token", "--key", str(tmp_path / "app-private.pem"), "--sub", "user-1", "--ttl", "15m"],
    )
    assert made.exit_code == 0, made.output
    assert "for development only" in made.stderr
    signed = made.stdout.strip()
    public = (tmp_path / "app-public.pem").read_text()
    claims = jwt.decode(signed, public, algorithms=["RS256"])
    assert claims["sub"] == "user-1"
    assert claims["exp"] - claims["iat"] == 900
    refused = runner.invoke(
        cli, ["appevents", "token", "--key", str(tmp_path / "app-public.pem"), "--sub", "x"]
    )
    assert refused.exit_code == 2
    assert "no private key" in refused.output


def test_send_explains_the_plan_of_a_valid_payload_and_the_errors_of_an_invalid_one(tmp_path: Path) -> None:
    spec = write_spec(tmp_path)
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"email": "Ada@Example.com", "last_name": "Lovelace", "source": "partner"}))
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"email": "ada", "source": "tv"}))
    runner = CliRunner()
    planned = runner.invoke(cli, ["appevents", "send", str(spec), "Lead Created", str(good), "--json"])
    assert planned.exit_code == 0, planned.output
    plan = json.loads(planned.stdout)["plan"]
    [record] = plan["records"]
    assert record["action"] == "create"
    assert record["key"] == "local/ada@example.com"
    written = {field["field"]: field["new"] for field in record["fields"] if field.get("new") is not None}
    assert written["LeadSource"] == "Partner Referral"
    assert written["Company"] == "[not provided]"
    refused = runner.invoke(cli, ["appevents", "send", str(spec), "Lead Created", str(bad), "--json"])
    assert refused.exit_code == 1
    errors = json.loads(refused.stdout)["failed"][0]["errors"]
    assert {(error["pointer"], error["keyword"]) for error in errors} == {
        ("/payload", "required"),
        ("/payload/email", "format"),
        ("/payload/source", "enum"),
    }
    unknown = runner.invoke(cli, ["appevents", "send", str(spec), "Trial Started", str(good)])
    assert unknown.exit_code == 2
    assert "'Lead Created', 'Lead Updated'" in unknown.output


def test_validate_reports_paths_no_closed_schema_has_and_invalid_schemas(tmp_path: Path) -> None:
    spec = write_spec(tmp_path)
    runner = CliRunner()
    assert runner.invoke(cli, ["validate", str(spec)]).exit_code == 0
    spec.write_text(spec.read_text().replace("Title: payload.title", "Title: lower(payload.titel)"))
    wrong_path = runner.invoke(cli, ["validate", str(spec)])
    assert wrong_path.exit_code == 1
    assert "records[0].fields.Title: payload.titel: no event's schema" in wrong_path.output
    line = next(n for n, text in enumerate(spec.read_text().splitlines(), 1) if "Title:" in text)
    assert f"app-events-salesforce.yaml:{line}:14: error" in wrong_path.output  # file:line:col of the value
    schema = tmp_path / "app-events" / "lead-created.schema.json"
    schema.write_text(json.dumps({"type": "object", "properties": {"email": {"type": "strin"}}}))
    invalid = runner.invoke(cli, ["validate", str(spec)])
    assert invalid.exit_code == 1
    assert "source.options" in invalid.output
    assert "not valid Draft 2020-12 at /properties/email/type" in invalid.output


def test_send_against_org_plans_against_the_tenants_records(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fieldline.adapters.salesforce.emulator import org_connection, running_orgs

    with running_orgs(["user-a"]) as orgs:
        entry, secrets = org_connection(orgs["user-a"], env_prefix="SEND_USER_A")
        for name, value in secrets.items():
            monkeypatch.setenv(name, value)
        store = orgs["user-a"].store
        leads = store.table("Lead")
        assert leads is not None
        store.insert(leads, {"LastName": "Lovelace", "Company": "Acme", "Email": "ada@example.com"})
        spec = write_spec(tmp_path, connections={"user-a": entry})
        payload = tmp_path / "update.json"
        payload.write_text(json.dumps({"email": "ADA@example.com", "title": "CTO"}))
        planned = CliRunner().invoke(
            cli,
            [
                "appevents",
                "send",
                str(spec),
                "Lead Updated",
                str(payload),
                "--sub",
                "user-a",
                "--against-org",
                "--json",
            ],
        )
    assert planned.exit_code == 0, planned.output
    [record] = json.loads(planned.stdout)["plan"]["records"]
    assert record["action"] == "update"
    written = {field["field"]: field["new"] for field in record["fields"] if field.get("decision") == "write"}
    assert written == {"Title": "CTO"}
