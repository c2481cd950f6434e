"""Lookup call statistics in `GET /status` and `fieldline status --service`."""

from __future__ import annotations

import json

import httpx
from click.testing import CliRunner

from fieldline.cli import cli
from tests.lookups.conftest import Service
from tests.salesforce.source_fixtures import seed_accounts


def _exercise(service: Service) -> None:
    seed_accounts(service.emulator, [{"Name": "Acme", "AccountNumber": "ST-1"}])
    assert service.get("/lookup/account/ST-1").status_code == 200
    assert service.get("/lookup/account/none").status_code == 404
    service.emulator.set_faults(unavailable_next=1)
    assert service.get("/lookup/account/ST-1").status_code == 503


def test_get_status_has_each_lookup_and_spec(service: Service) -> None:
    _exercise(service)
    document = httpx.get(f"{service.url}/status").json()  # loopback operator, no token configured
    account = document["lookups"]["account"]
    assert account["spec"] == "crm-view"
    assert account["object"] == "Account"
    assert account["last_hour"] == {"succeeded": 2, "failed": 1}
    assert account["last_success"] is not None
    assert account["last_failure"] is not None
    assert "SERVER_UNAVAILABLE" in account["last_error"]
    assert "ST-1" not in json.dumps(document)
    assert document["lookups"]["cached"]["last_hour"] == {"succeeded": 0, "failed": 0}
    assert document["specs"]["crm-view"]["last_hour"] == {"succeeded": 2, "failed": 1}


def test_fieldline_status_shows_them_from_the_service(service: Service) -> None:
    _exercise(service)
    runner = CliRunner()
    as_json = runner.invoke(cli, ["status", "--db", str(service.db), "--service", service.url, "--json"])
    assert as_json.exit_code == 0, as_json.output
    assert json.loads(as_json.stdout)["lookups"]["account"]["last_hour"]["failed"] == 1
    table = runner.invoke(cli, ["status", "--db", str(service.db), "--service", service.url])
    assert table.exit_code == 0, table.output
    assert "account" in table.output
    assert "spec crm-view" in table.output


def test_an_unreachable_service_is_a_clear_error(service: Service) -> None:
    result = CliRunner().invoke(cli, ["status", "--db", str(service.db), "--service", "http://127.0.0.1:9"])
    assert result.exit_code == 2
    assert "cannot reach the service at http://127.0.0.1:9" in result.output
