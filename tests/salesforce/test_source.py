"""The Salesforce source against the emulator: REST paging, Bulk query export, fetch, find."""

from __future__ import annotations

from contextlib import closing

import pytest

from fieldline.adapters.salesforce.emulator.server import EmulatorHandle
from fieldline.adapters.salesforce.source_options import parse_source_options
from fieldline.errors import ConfigError, FatalAdapterError
from tests.salesforce.source_fixtures import make_source, seed_accounts


def test_read_pages_through_query_more_and_applies_where(emulator: EmulatorHandle) -> None:
    seed_accounts(emulator, [{"Name": f"Acme {i:04d}", "NumberOfEmployees": i} for i in range(450)])
    with closing(
        make_source(emulator, where="NumberOfEmployees >= 50", fields=["Name"], page_size=200)
    ) as source:
        emulator.reset_stats()
        documents = list(source.read())
    assert len(documents) == 400
    assert sorted(doc.data["Name"] for doc in documents) == [f"Acme {i:04d}" for i in range(50, 450)]
    assert all(set(doc.data) == {"Id", "Name", "SystemModstamp"} for doc in documents)
    assert all(doc.key == doc.data["Id"] and doc.version is not None for doc in documents)
    # describe, count, then two pages of 200: no call per record
    assert emulator.stats()["total"] <= 5


def test_read_above_the_threshold_uses_a_bulk_query_with_the_same_documents(emulator: EmulatorHandle) -> None:
    seed_accounts(
        emulator, [{"Name": f"Bulk {i}", "NumberOfEmployees": i, "AnnualRevenue": i * 1.5} for i in range(30)]
    )
    fields = ["Name", "NumberOfEmployees", "AnnualRevenue"]
    with (
        closing(make_source(emulator, fields=fields)) as rest,
        closing(make_source(emulator, fields=fields, bulk_threshold=10, page_size=200)) as bulk,
    ):
        by_rest = {doc.key: doc.data for doc in rest.read()}
        emulator.reset_stats()
        by_bulk = {doc.key: doc.data for doc in bulk.read()}
    assert emulator.stats()["by_kind"].get("bulk_create_job") == 1
    assert by_bulk == by_rest


def test_fetch_by_key_field_and_unknown_key(emulator: EmulatorHandle) -> None:
    seed_accounts(emulator, [{"Name": "O'Brien \\ Co", "AccountNumber": "A-1"}, {"Name": "Other"}])
    with closing(make_source(emulator, key="AccountNumber", fields=["Name"])) as source:
        found = source.fetch("A-1")
        assert found is not None
        assert found.key == "A-1"
        assert found.data["Name"] == "O'Brien \\ Co"
        assert source.fetch("A-2") is None


def test_fetch_many_batches_keys_by_an_index_field(emulator: EmulatorHandle) -> None:
    seed_accounts(emulator, [{"Name": f"N{i}", "AccountNumber": f"K{i % 3}"} for i in range(9)])
    with closing(make_source(emulator, fields=["Name", "AccountNumber"])) as source:
        source.describe()
        emulator.reset_stats()
        found = source.fetch_many("AccountNumber", ["K0", "K1", "missing"])
    assert emulator.stats()["total"] == 1
    assert {value: len(docs) for value, docs in found.items()} == {"K0": 3, "K1": 3}


def test_an_unknown_index_field_is_a_located_error(emulator: EmulatorHandle) -> None:
    with (
        closing(make_source(emulator)) as source,
        pytest.raises(FatalAdapterError, match="no field 'Nope__c'"),
    ):
        source.find("Account", "Nope__c", ["x"], ["Name"])


@pytest.mark.parametrize(
    ("options", "message"),
    [
        pytest.param({}, "must name a Salesforce object", id="no-object"),
        pytest.param(
            {"object": "Account", "colour": "red"}, "unknown salesforce source option", id="unknown"
        ),
        pytest.param({"object": "Account", "page_size": 10}, "page_size", id="page-size"),
    ],
)
def test_options_are_checked(options: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_source_options(options)
