"""SQLite persistence across restarts, and the ``fieldline emulator salesforce`` command."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from fieldline.adapters.salesforce.emulator.cli import salesforce
from fieldline.errors import ConfigError
from tests.salesforce_emulator.conftest import API, ORG_FILE, LoopbackSession, connect, records, start


def test_records_survive_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "org.sqlite"
    with (
        start(state_path=state) as first,
        httpx.Client(base_url=first.url + API, headers={"Authorization": f"Bearer {first.token}"}) as c,
    ):
        made = c.post(
            "/composite/sobjects",
            json={"records": records({"Name": "A", "PassFort_Profile_Id__c": "k"}, {"Name": "B"})},
        ).json()
        kept, gone = made[0]["id"], made[1]["id"]
        c.patch(f"/sobjects/Account/{kept}", json={"Phone": "1"})
        c.delete(f"/sobjects/Account/{gone}")
        c.post(
            "/composite/sobjects",
            json={"allOrNone": True, "records": records({"Name": "rolled"}, {"Phone": "x"})},
        )
    with (
        start(state_path=state) as second,
        httpx.Client(base_url=second.url + API, headers={"Authorization": f"Bearer {second.token}"}) as c,
    ):
        got = c.get("/sobjects/Account/PassFort_Profile_Id__c/k").json()
        assert (got["Id"], got["Name"], got["Phone"]) == (kept, "A", "1")
        assert c.get("/query", params={"q": "SELECT Name FROM Account"}).json()["totalSize"] == 1
        every = c.get("/queryAll", params={"q": "SELECT Id FROM Account WHERE IsDeleted = true"}).json()
        assert [r["Id"] for r in every["records"]] == [gone]
        new_id = c.post("/sobjects/Account/", json={"Name": "C"}).json()["id"]
        assert new_id not in (kept, gone)  # the id counter carried over
        duplicate = c.post("/sobjects/Account/", json={"Name": "D", "PassFort_Profile_Id__c": "K"})
        assert duplicate.json()[0]["errorCode"] == "DUPLICATE_VALUE"  # indexes were rebuilt


def test_bulk_jobs_persist_their_records(tmp_path: Path) -> None:
    state = tmp_path / "bulk.sqlite"
    with start(state_path=state) as first:
        session = LoopbackSession(first.url)
        try:
            sf = connect(first, session)
            sf.bulk2.Account.insert(records=[{"Name": f"N{i}"} for i in range(1000)], wait=0.05)
        finally:
            session.close()
    with start(state_path=state) as second:
        assert second.stats()["records"]["Account"] == 1000


def test_unwritable_state_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot open the emulator state file"), start(state_path=tmp_path):
        pass


def test_cli_help_lists_the_options() -> None:
    result = CliRunner().invoke(salesforce, ["--help"])
    assert result.exit_code == 0
    for option in ("--port", "--org", "--state", "--lock-error-rate", "--unavailable-next", "--daily-limit"):
        assert option in result.output


def test_cli_serves_on_a_free_port(tmp_path: Path) -> None:
    command = [
        str(Path(sys.executable).parent / "fieldline"),
        "emulator",
        "salesforce",
        "--port",
        "0",
        "--org",
        str(ORG_FILE),
        "--state",
        str(tmp_path / "s.sqlite"),
        "--daily-limit",
        "50",
        "--write-private-key",
        str(tmp_path / "k.pem"),
    ]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stdout is not None
            first = proc.stdout.readline()
            assert first.startswith("Salesforce emulator on http://127.0.0.1:"), first + (
                proc.stderr.read() if proc.stderr else ""
            )
            url = first.split()[-1]
            lines = [proc.stdout.readline() for _ in range(6)]
            access_token = next(line.split()[-1] for line in lines if "access token" in line)
            response = httpx.get(f"{url}{API}/limits", headers={"Authorization": f"Bearer {access_token}"})
            assert response.json()["DailyApiRequests"]["Max"] == 50
            assert (tmp_path / "k.pem").read_text().startswith("-----BEGIN PRIVATE KEY-----")
        finally:
            proc.terminate()
            proc.communicate(timeout=10)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["--lock-error-rate", "2"], "between 0 and 1", id="rate"),
        pytest.param(["--org", "/nonexistent/org.yaml"], "does not exist", id="org-file"),
    ],
)
def test_cli_refuses_bad_options(args: list[str], message: str) -> None:
    result = CliRunner().invoke(salesforce, ["--port", "0", *args])
    assert result.exit_code == 2
    assert message in result.output
