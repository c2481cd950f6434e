"""Properties of collections writes: allOrNone is atomic, results match the store, indexes stay exact."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import given, strategies as st

from fieldline.adapters.salesforce.emulator.server import EmulatorHandle
from fieldline.adapters.salesforce.emulator.store import Store, index_key
from tests.salesforce_emulator.conftest import API, start

# Small alphabets make collisions (duplicate external ids, case variants) likely.
external_ids = st.text(alphabet="aAbB", min_size=1, max_size=2)
account = st.fixed_dictionaries(
    {"PassFort_Profile_Id__c": external_ids},
    optional={
        "Name": st.one_of(st.just(""), st.text(alphabet="xy", min_size=1, max_size=3), st.just("n" * 300))
    },
)
batches = st.lists(account, min_size=1, max_size=8)


@pytest.fixture(scope="module")
def shared() -> Iterator[tuple[EmulatorHandle, httpx.Client]]:
    """One emulator for every example (each example clears the Account table first)."""
    with (
        start() as handle,
        httpx.Client(base_url=handle.url + API, headers={"Authorization": f"Bearer {handle.token}"}) as http,
    ):
        yield handle, http


def snapshot(store: Store) -> dict[str, Any]:
    table = store.table("Account")
    assert table is not None
    return {
        "rows": dict(table.rows),
        "index": {k: set(v) for k, v in table.indexes["passfort_profile_id__c"].items()},
    }


def assert_index_exact(store: Store) -> None:
    table = store.table("Account")
    assert table is not None
    expected: dict[Any, set[str]] = {}
    for record_id, record in table.rows.items():
        value = record.get("PassFort_Profile_Id__c")
        if value is not None:
            expected.setdefault(index_key(value), set()).add(record_id)
    assert table.indexes["passfort_profile_id__c"] == expected


def send(client: httpx.Client, batch: list[dict[str, Any]], all_or_none: bool) -> list[dict[str, Any]]:
    body = {"allOrNone": all_or_none, "records": [{"attributes": {"type": "Account"}, **r} for r in batch]}
    response = client.patch("/composite/sobjects/Account/PassFort_Profile_Id__c", json=body)
    assert response.status_code == 200
    results: list[dict[str, Any]] = response.json()
    assert len(results) == len(batch)
    return results


@given(first=batches, second=batches, all_or_none=st.booleans())
def test_upsert_batches(
    shared: tuple[EmulatorHandle, httpx.Client],
    first: list[dict[str, Any]],
    second: list[dict[str, Any]],
    all_or_none: bool,
) -> None:
    handle, client = shared
    store = handle.store
    table = store.table("Account")
    assert table is not None
    table.rows.clear()
    table.indexes["passfort_profile_id__c"].clear()
    send(client, first, all_or_none=False)
    before = snapshot(store)
    results = send(client, second, all_or_none)
    after = snapshot(store)
    assert_index_exact(store)
    if all_or_none and not all(r["success"] for r in results):
        assert after == before  # nothing committed
        codes = {e["statusCode"] for r in results for e in r["errors"]}
        assert "ALL_OR_NONE_OPERATION_ROLLED_BACK" in codes or all(not r["success"] for r in results)
    for record, result in zip(second, results, strict=True):
        if result["success"]:
            stored = table.rows[result["id"]]
            assert index_key(stored["PassFort_Profile_Id__c"]) == index_key(record["PassFort_Profile_Id__c"])
            assert result["created"] is (result["id"] not in before["rows"])
        elif result["errors"][0]["statusCode"] != "ALL_OR_NONE_OPERATION_ROLLED_BACK":
            assert result["errors"][0]["statusCode"] in {
                "DUPLICATE_EXTERNAL_ID", "REQUIRED_FIELD_MISSING", "STRING_TOO_LONG"}  # fmt: skip
