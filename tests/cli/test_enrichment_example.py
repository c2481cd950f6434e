"""The shipped enrichment example, as its walk-through (docs/enrichment.md) runs it against the
Salesforce emulator: a couple of records first, then everything, then nothing left to write."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner

from fieldline.adapters.salesforce.emulator.server import EmulatorHandle, running_emulator
from fieldline.adapters.salesforce.settings import AuthMethod
from fieldline.adapters.salesforce.target import SalesforceTarget
from fieldline.cli import cli
from fieldline.contracts import Write, WriteOperation
from tests.apply_results import finished
from tests.conftest import REPO_ROOT, use_emulator_login
from tests.salesforce.conftest import emulator_settings

SPEC = REPO_ROOT / "mappings" / "examples" / "enrichment-salesforce.yaml"


@pytest.fixture
def salesforce(monkeypatch: pytest.MonkeyPatch) -> Iterator[EmulatorHandle]:
    with running_emulator() as emulator:
        use_emulator_login(monkeypatch, emulator)
        seed = SalesforceTarget({}, settings=emulator_settings(emulator, AuthMethod.PASSWORD))
        try:
            finished(
                seed.apply(
                    [
                        Write(
                            key=name,
                            object="Account",
                            operation=WriteOperation.CREATE,
                            fields={"Name": name, "Website": site},
                        )
                        for name, site in (
                            ("Acme (sales)", "https://www.Acme.co.uk/about"),
                            ("TEST", "HTTP://TEST.COM"),
                        )
                    ]
                )
            )
        finally:
            seed.close()
        yield emulator


def _sync(*args: str) -> dict[str, Any]:
    result = CliRunner().invoke(cli, ["sync", str(SPEC), "--json", *args])
    assert result.exit_code == 0, result.output
    loaded: dict[str, Any] = json.loads(result.stdout)
    return loaded


def test_a_couple_of_records_then_everything_then_nothing(salesforce: EmulatorHandle) -> None:
    tried = _sync("--key", "acme.co.uk")
    assert {(o["record"], o["action"]) for o in tried["outcomes"]} == {
        ("company", "update"),
        ("contact", "create"),
    }
    [acme] = [a for a in salesforce.records("Account") if a["Website"] == "https://www.Acme.co.uk/about"]
    assert acme["Name"] == "Acme (sales)", "if_empty (the record's defaults) keeps the sales team's name"
    assert acme["Industry"] == "Retail"
    [wile] = salesforce.records("Contact")
    assert (wile["Email"], wile["AccountId"]) == ("wile@acme.co.uk", acme["Id"])

    everything = _sync()
    assert everything["counts"]["create"] == 2 + 3  # two new companies, their three people
    assert len(salesforce.records("Account")) == 4  # test.com matched HTTP://TEST.COM
    salesforce.reset_stats()
    again = _sync()
    assert again["counts"]["noop"] == len(again["outcomes"])
    assert salesforce.stats()["writes"] == 0
