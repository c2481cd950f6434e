"""`fieldline serve` of a spec whose source receives no webhooks: its lookups alone, over HTTP.

The Brightback-style deployment: a Salesforce-source spec (the shipped example) served so that
a customer-facing app reads one Account per page load. No webhook endpoint, no worker needed.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from fieldline.adapters.salesforce.emulator.server import EmulatorHandle, running_emulator
from fieldline.errors import ConfigError
from fieldline.plugins.manager import get_plugin_manager
from fieldline.service.context import split_specs
from fieldline.spec.loader import load_spec_text
from tests.conftest import REPO_ROOT
from tests.e2e.test_cli import free_port
from tests.e2e.test_crash import FIELDLINE
from tests.lookups.conftest import API_KEY, salesforce_env
from tests.salesforce.conftest import ORG_FILE
from tests.salesforce.source_fixtures import seed_accounts
from tests.waiting import wait_until

pytestmark = pytest.mark.timeout(120)

EXAMPLE = REPO_ROOT / "mappings" / "examples" / "salesforce-accounts-to-files.yaml"
OPERATOR_TOKEN = "lookup-operator-token-0123456789"


@dataclass
class Served:
    url: str
    emulator: EmulatorHandle
    process: subprocess.Popen[bytes]
    log: Path

    def get(self, path: str, *, key: str | None = API_KEY) -> httpx.Response:
        headers = {"Authorization": f"Bearer {key}"} if key is not None else {}
        return httpx.get(f"{self.url}{path}", headers=headers, timeout=30)


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Served]:
    with running_emulator(ORG_FILE) as emulator:
        salesforce_env(monkeypatch, emulator)
        port = free_port()
        log = tmp_path / "serve.log"
        with log.open("wb") as output:
            process = subprocess.Popen(
                [
                    FIELDLINE,
                    "serve",
                    "--spec",
                    str(EXAMPLE),
                    "--db",
                    str(tmp_path / "q.db"),
                    "--port",
                    str(port),
                ],
                stdout=output,
                stderr=subprocess.STDOUT,
                env={**os.environ, "FIELDLINE_OPERATOR_TOKEN": OPERATOR_TOKEN},
            )
        url = f"http://127.0.0.1:{port}"

        def healthy() -> bool:
            try:
                return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
            except httpx.TransportError:
                assert process.poll() is None, log.read_text()
                return False

        try:
            wait_until(healthy, what="the lookup service answering /healthz")
            yield Served(url, emulator, process, log)
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=60)


def test_a_salesforce_source_spec_is_served_for_its_lookups(served: Served) -> None:
    (account_id,) = seed_accounts(
        served.emulator, [{"Name": "Acme", "AccountNumber": "BB-1", "Industry": "Banking"}]
    )
    found = served.get("/lookup/account/%20BB-1%20")  # the index normalizer trims
    assert found.status_code == 200, found.text
    assert found.json()["id"] == account_id
    assert found.json()["fields"]["name"] == "Acme"
    assert found.headers["cache-control"] == "private, max-age=30"
    assert served.get("/lookup/account/none").status_code == 404
    assert served.get("/lookup/account/BB-1", key="wrong" * 8).status_code == 401
    described = served.get("/lookup/account_everything")
    assert described.status_code == 200
    assert described.json()["index"]["field"] == "AccountNumber"
    # Nothing receives webhooks: the source is Salesforce.
    assert httpx.post(f"{served.url}/webhooks/salesforce", content=b"{}", timeout=30).status_code == 404
    status = httpx.get(
        f"{served.url}/status", headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"}, timeout=30
    )
    assert status.status_code == 200
    assert status.json()["lookups"]["account"]["last_hour"] == {"succeeded": 2, "failed": 0}
    assert status.json()["sources"] == {}


def test_it_says_what_it_serves_and_stops_cleanly_on_sigterm(served: Served) -> None:
    served.process.send_signal(signal.SIGTERM)
    assert served.process.wait(timeout=60) == 0
    log = served.log.read_text()
    assert "/lookup/account/VALUE" in log
    assert "/lookup/account_everything/VALUE" in log
    assert "/webhooks/" not in log
    assert "Traceback" not in log


def test_a_worker_for_lookup_only_specs_is_refused(served: Served, tmp_path: Path) -> None:
    result = subprocess.run(
        [FIELDLINE, "worker", "--spec", str(EXAMPLE), "--db", str(tmp_path / "w.db")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert "none of the specs has a webhook source" in result.stderr
    assert "Traceback" not in result.stderr


SPEC_WITHOUT_SOURCE = """
fieldline: 1
name: {name}
target: {{adapter: files, options: {{path: out.json}}}}
records:
  - {{name: r, object: Account, fields: {{Name: name}}}}
{lookups}
"""
LOOKUPS = "lookups:\n  acct: {object: Account, index: AccountNumber, fields: {name: Name}}\n"


def _spec(name: str, *, lookups: bool, source: str | None = None) -> object:
    text = SPEC_WITHOUT_SOURCE.format(name=name, lookups=LOOKUPS if lookups else "")
    if source is not None:
        text += f"source: {{adapter: {source}, options: {{path: in.jsonl}}}}\n"
    return load_spec_text(text, file=f"{name}.yaml")


def test_specs_are_split_into_webhook_and_lookup_only_ones() -> None:
    manager = get_plugin_manager(load_entrypoints=True)
    no_source = _spec("no-source", lookups=True)
    files = _spec("files", lookups=True, source="files")
    receiving, lookups_only = split_specs([no_source, files], manager)  # type: ignore[list-item]
    assert receiving == {}
    assert lookups_only == (no_source, files)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        pytest.param(None, "no source and no lookups", id="nothing"),
        pytest.param("files", "cannot receive webhooks and the spec declares no lookups", id="files"),
    ],
)
def test_a_spec_the_service_cannot_use_is_refused(source: str | None, message: str) -> None:
    spec = _spec("idle", lookups=False, source=source)
    with pytest.raises(ConfigError, match=message) as caught:
        split_specs([spec], get_plugin_manager(load_entrypoints=True))  # type: ignore[list-item]
    assert "idle.yaml" in str(caught.value)
