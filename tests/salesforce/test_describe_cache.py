"""Describes kept across runs: no describe call while a kept one is recent, and a kept describe
that refuses a record is replaced at once (a field added since is never refused for its sake)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fieldline.adapters.salesforce.describe_cache import DescribeCache, cache_folder, trimmed
from fieldline.adapters.salesforce.emulator.server import EmulatorHandle
from fieldline.adapters.salesforce.settings import AuthMethod
from fieldline.contracts import LookupRequest, Write, WriteOperation
from tests.apply_results import finished


def _describes(emulator: EmulatorHandle) -> int:
    return int(emulator.stats()["by_kind"].get("describe", 0))


def _account(key: str, **fields: Any) -> Write:
    return Write(key=key, object="Account", operation=WriteOperation.CREATE, fields={"Name": key, **fields})


def _forget_field(tmp_path: Path, name: str) -> Path:
    """Take ``name`` out of the kept Account describe, as if it had been kept before the field
    was added to the org; the kept file."""
    kept = next((tmp_path / "cache" / "describe").rglob("account.json"))
    data = json.loads(kept.read_text())
    data["describe"]["fields"] = [f for f in data["describe"]["fields"] if f["name"] != name]
    kept.write_text(json.dumps(data))
    return kept


def _in_run(target: Any) -> Any:
    target.begin_run()
    return target


def test_a_later_run_uses_the_kept_describe(emulator: EmulatorHandle, make_target: Any) -> None:
    _in_run(make_target(emulator)).describe("Account")
    assert _describes(emulator) == 1
    later = _in_run(make_target(emulator))
    assert later.describe("Account").field("PassFort_Profile_Id__c") is not None
    assert _describes(emulator) == 1, "kept from the first run"
    _in_run(make_target(emulator, describe_cache_seconds=0)).describe("Account")
    assert _describes(emulator) == 2, "0: describe every run"


def test_describing_outside_a_run_asks_the_org_and_keeps_the_answer(
    emulator: EmulatorHandle, make_target: Any, tmp_path: Path
) -> None:
    """`fieldline describe` and `validate --against` say what the org says now."""
    _in_run(make_target(emulator)).describe("Account")
    kept = _forget_field(tmp_path, "AccountNumber")
    assert make_target(emulator).describe("Account").field("AccountNumber") is not None
    assert _describes(emulator) == 2
    assert "AccountNumber" in kept.read_text(), "the next run gets the fresh one"


def test_a_kept_describe_that_refuses_a_record_is_replaced(
    emulator: EmulatorHandle, make_target: Any, tmp_path: Path
) -> None:
    """The kept describe predates a field (``AccountNumber`` removed from it here): the record is
    checked against a fresh describe and written."""
    _in_run(make_target(emulator)).describe("Account")
    kept = _forget_field(tmp_path, "AccountNumber")
    target = _in_run(make_target(emulator))
    assert target.describe("Account").field("AccountNumber") is None, "the stale copy, as kept"
    assert target.check([_account("a", AccountNumber="A-1")]) == [()]
    assert _describes(emulator) == 2, "described again once"
    (result,) = finished(target.apply([_account("b", AccountNumber="B-1")]))
    assert result.ok, result.error
    assert _describes(emulator) == 2
    assert "AccountNumber" in kept.read_text(), "the fresh describe is kept"


def test_a_match_field_missing_from_the_kept_describe_describes_again(
    emulator: EmulatorHandle, make_target: Any, tmp_path: Path
) -> None:
    _in_run(make_target(emulator)).describe("Account")
    _forget_field(tmp_path, "AccountNumber")
    target = _in_run(make_target(emulator))
    request = LookupRequest(
        object="Account", field="AccountNumber", values=frozenset({"x"}), fields=frozenset()
    )
    assert target.lookup([request]) == {("Account", "AccountNumber", ()): {}}


def test_an_unusable_cache_folder_is_ignored(
    emulator: EmulatorHandle, make_target: Any, monkeypatch: Any, tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("FIELDLINE_CACHE_DIR", str(blocker))
    target = _in_run(make_target(emulator))
    (result,) = finished(target.apply([_account("a")]))
    assert result.ok
    assert _in_run(make_target(emulator)).describe("Account").name == "Account"
    assert _describes(emulator) == 2, "nothing kept, nothing failed"


def test_a_bare_access_token_is_never_cached(emulator: EmulatorHandle, make_target: Any) -> None:
    _in_run(make_target(emulator, AuthMethod.TOKEN)).describe("Account")
    _in_run(make_target(emulator, AuthMethod.TOKEN)).describe("Account")
    assert _describes(emulator) == 2


def test_kept_describes_expire_and_hold_only_what_is_read(tmp_path: Path) -> None:
    now = [1000.0]
    cache = DescribeCache(
        tmp_path, "https://acme.my.salesforce.com|ops@acme", seconds=60, clock=lambda: now[0]
    )
    raw = {
        "name": "Account",
        "label": "Account",
        "urls": {"big": "..."},
        "fields": [
            {"name": "Name", "type": "string", "length": 80, "inlineHelpText": "...", "picklistValues": []}
        ],
    }
    cache.put("Account", raw)
    assert cache.get("account") == trimmed(raw)
    assert "urls" not in json.dumps(cache.get("Account"))
    now[0] = 1059.0
    assert cache.get("Account") is not None
    now[0] = 1060.0
    assert cache.get("Account") is None, "as old as the limit: described again"
    now[0] = 900.0
    assert cache.get("Account") is None, "from the future (a clock set back): not trusted"
    other = DescribeCache(
        tmp_path, "https://acme.my.salesforce.com|someone-else", seconds=60, clock=lambda: 1000.0
    )
    assert other.get("Account") is None, "another user's view of the org is not shared"


def test_the_cache_folder_follows_the_environment(tmp_path: Path) -> None:
    assert cache_folder({"FIELDLINE_CACHE_DIR": str(tmp_path)}) == tmp_path
    assert cache_folder({"XDG_CACHE_HOME": str(tmp_path)}) == tmp_path / "fieldline"
    assert cache_folder({}) == Path.home() / ".cache" / "fieldline"
