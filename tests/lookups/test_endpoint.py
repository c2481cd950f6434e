"""GET /lookup over HTTP against the Salesforce emulator: every answer the endpoint gives."""

from __future__ import annotations

import pytest

from tests.lookups.conftest import OTHER_KEY, Service
from tests.salesforce.source_fixtures import seed_accounts


def test_found_maps_the_allow_list(service: Service) -> None:
    (account_id,) = seed_accounts(
        service.emulator, [{"Name": "Acme", "AccountNumber": "APP-1", "Industry": "Banking", "Phone": "555"}]
    )
    answer = service.get("/lookup/account/APP-1")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["id"] == account_id
    assert body["object"] == "Account"
    assert body["fields"] == {"name": "Acme", "industry": "finance", "employees": 0, "crm": "salesforce"}
    assert isinstance(body["fetched_at"], float)
    assert answer.headers["cache-control"] == "no-store"


def test_fields_all_returns_every_readable_field_by_api_name(service: Service) -> None:
    seed_accounts(service.emulator, [{"Name": "Acme", "AccountNumber": "APP-2", "Phone": "555"}])
    body = service.get("/lookup/account_all/APP-2").json()
    assert body["fields"]["Name"] == "Acme"
    assert body["fields"]["Phone"] == "555"
    assert {"Id", "AccountNumber", "Industry", "CreatedDate"} <= set(body["fields"])
    assert "attributes" not in body["fields"]


def test_not_found_is_404(service: Service) -> None:
    answer = service.get("/lookup/account/nobody")
    assert answer.status_code == 404
    assert answer.json()["error"] == "no record matches"


def test_several_matches_are_409_with_their_ids_or_the_first(service: Service) -> None:
    ids = seed_accounts(service.emulator, [{"Name": f"Dup {i}", "AccountNumber": "DUP"} for i in range(3)])
    conflict = service.get("/lookup/account/DUP")
    assert conflict.status_code == 409
    assert conflict.json()["ids"] == sorted(ids)
    first = service.get("/lookup/account_all/DUP")
    assert first.status_code == 200
    assert first.json()["id"] == min(ids)


def test_index_normalizer_matches_both_sides_and_newest_wins(service: Service) -> None:
    table = service.emulator.store.table("Account")
    assert table is not None
    old, new = seed_accounts(
        service.emulator,
        [{"Name": "Old", "Website": "https://www.acme.com/a"}, {"Name": "New", "Website": "http://acme.com"}],
    )
    table.rows[old]["SystemModstamp"] = "2031-01-01T00:00:00.000+0000"  # the older id was changed last
    seed_accounts(service.emulator, [{"Name": "Other", "Website": "https://acme.co.uk"}])
    answer = service.get("/lookup/by_domain/WWW.ACME.COM")
    assert answer.status_code == 200, answer.text
    assert answer.json()["id"] == old
    assert answer.json()["fields"] == {"name": "Old", "site": "https://www.acme.com/a"}
    assert new  # matched too: newest chose between them


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        pytest.param("x" * 256, "longer than 255", id="too-long"),
        pytest.param("a%0Ab", "control characters", id="newline"),
        pytest.param("a%00b", "control characters", id="nul"),
    ],
)
def test_a_value_that_cannot_be_a_key_is_400_without_a_call(
    service: Service, value: str, reason: str
) -> None:
    service.emulator.reset_stats()
    answer = service.get(f"/lookup/account/{value}")
    assert answer.status_code == 400
    assert reason in answer.json()["error"]
    assert service.emulator.stats()["total"] == 0


def test_a_value_normalizing_to_nothing_is_400(service: Service) -> None:
    answer = service.get("/lookup/by_domain/not a domain")
    assert answer.status_code == 400
    assert "root_domain" in answer.json()["error"]


def test_a_value_with_a_slash_is_one_value(service: Service) -> None:
    seed_accounts(service.emulator, [{"Name": "Slashed", "AccountNumber": "A/B"}])
    answer = service.get("/lookup/account/A%2FB")
    assert answer.status_code == 200, answer.text
    assert answer.json()["fields"]["name"] == "Slashed"


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="missing"),
        pytest.param({"Authorization": "Bearer wrong"}, id="wrong"),
        pytest.param({"Authorization": f"Basic {'k' * 32}"}, id="wrong-scheme"),
        pytest.param({"X-API-Key": "k" * 31}, id="prefix"),
    ],
)
def test_without_a_valid_key_it_is_401_before_anything_else(
    service: Service, headers: dict[str, str]
) -> None:
    import httpx

    service.emulator.reset_stats()
    for path in ("/lookup/account/APP-1", "/lookup/account", "/lookup/no-such-lookup/x"):
        answer = httpx.get(f"{service.url}{path}", headers=headers)
        assert answer.status_code == 401, path
        assert "no-such-lookup" not in answer.text
        assert answer.headers["www-authenticate"].startswith("Bearer")
    assert service.emulator.stats()["total"] == 0


def test_every_configured_key_and_the_x_api_key_header_are_accepted(service: Service) -> None:
    import httpx

    assert service.get("/lookup/account/none", key=OTHER_KEY).status_code == 404
    assert (
        httpx.get(f"{service.url}/lookup/account/none", headers={"X-API-Key": OTHER_KEY}).status_code == 404
    )


def test_an_unknown_lookup_names_the_known_ones(service: Service) -> None:
    answer = service.get("/lookup/acount/x")
    assert answer.status_code == 404
    assert "account, account_all, by_domain, cached" in answer.json()["error"]


def test_describe_lists_the_index_and_the_returned_fields_with_types(service: Service) -> None:
    body = service.get("/lookup/account").json()
    assert body["object"] == "Account"
    assert body["index"] == {"field": "AccountNumber", "type": "string", "normalize": []}
    assert body["fields"]["name"] == {"reads": ["Name"], "source": "Name", "type": "string"}
    assert body["fields"]["employees"]["type"] == "int"
    assert body["fields"]["crm"]["reads"] == []
    everything = service.get("/lookup/account_all").json()["fields"]
    assert everything["Website"]["type"] == "url"
    assert "BillingAddress" not in everything  # compound fields are not returned
