"""The examples in docs/salesforce-emulator.md run as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from fieldline.adapters.salesforce.emulator.org import load_org
from tests.conftest import REPO_ROOT

DOC = REPO_ROOT / "docs" / "salesforce-emulator.md"


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.DOTALL)


def test_org_file_example_loads(tmp_path: Path) -> None:
    (example,) = [b for b in blocks("yaml") if "Invoice__c" in b]
    path = tmp_path / "org.yaml"
    path.write_text(example)
    org = load_org(path)
    invoice = org.get("Invoice__c")
    assert invoice is not None
    assert invoice.key_prefix == "a1B"
    account = invoice.field("Account__c")
    assert account is not None
    assert account.relationship_name == "Account__r"
    notes = invoice.field("Notes__c")
    assert notes is not None
    assert not notes.updateable


def test_python_example_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO_ROOT)
    (example,) = [b for b in blocks("python") if "running_emulator" in b]
    exec(compile(example, str(DOC), "exec"), {})


def test_every_stats_kind_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    source = "\n".join(
        p.read_text() for p in (REPO_ROOT / "adapters/salesforce/emulator").glob("routes_*.py")
    )
    kinds = set(re.findall(r'api_endpoint\("(\w+)"\)', source)) | {"oauth"}
    missing = sorted(k for k in kinds if f"`{k}`" not in text)
    assert not missing


def test_every_setting_is_documented() -> None:
    from dataclasses import fields

    from fieldline.adapters.salesforce.emulator.state import EmulatorSettings

    text = DOC.read_text(encoding="utf-8")
    missing = sorted(f.name for f in fields(EmulatorSettings) if f"`{f.name}`" not in text)
    assert not missing
