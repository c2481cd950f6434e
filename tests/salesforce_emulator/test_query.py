"""query / queryAll over HTTP: paging, batch size, relationship fields, errors, COUNT(), limits."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

from fieldline.adapters.salesforce.emulator.server import EmulatorHandle
from tests.salesforce_emulator.conftest import API, error_code, records


def load_accounts(client: httpx.Client, count: int) -> None:
    for start in range(0, count, 200):
        batch = records(
            *(
                {"Name": f"N{i:05d}", "PassFort_Profile_Id__c": f"p{i}"}
                for i in range(start, min(count, start + 200))
            )
        )
        response = client.post("/composite/sobjects", json={"records": batch})
        assert all(r["success"] for r in response.json())


def test_pagination_with_next_records_url(client: httpx.Client, sf: Any, emulator: EmulatorHandle) -> None:
    load_accounts(client, 2500)
    first = client.get("/query", params={"q": "SELECT Id, Name FROM Account ORDER BY Name"}).json()
    assert (first["totalSize"], first["done"], len(first["records"])) == (2500, False, 2000)
    assert first["nextRecordsUrl"].startswith(f"{API}/query/")
    second = httpx.get(emulator.url + first["nextRecordsUrl"], headers=client.headers).json()
    assert (second["done"], len(second["records"]), second["records"][-1]["Name"]) == (True, 500, "N02499")
    assert "nextRecordsUrl" not in second
    everything = sf.query_all("SELECT Name FROM Account")
    assert everything["totalSize"] == 2500
    assert len(everything["records"]) == 2500
    assert emulator.stats()["by_kind"]["query_more"] == 2
    stale = httpx.get(emulator.url + first["nextRecordsUrl"], headers=client.headers)
    assert stale.status_code == 400
    assert stale.json()[0]["errorCode"] == "INVALID_QUERY_LOCATOR"


def test_batch_size_header(client: httpx.Client) -> None:
    load_accounts(client, 450)
    page = client.get(
        "/query", params={"q": "SELECT Id FROM Account"}, headers={"Sforce-Query-Options": "batchSize=200"}
    ).json()
    assert len(page["records"]) == 200
    assert page["nextRecordsUrl"].endswith("-200")
    tiny = client.get(
        "/query", params={"q": "SELECT Id FROM Account"}, headers={"Sforce-Query-Options": "batchSize=5"}
    ).json()
    assert len(tiny["records"]) == 200  # below the minimum: clamped to 200


def test_relationship_fields_are_nested(client: httpx.Client) -> None:
    account = client.post("/sobjects/Account/", json={"Name": "Acme", "PassFort_Profile_Id__c": "p"}).json()[
        "id"
    ]
    client.post("/sobjects/PassFort_Application__c/", json={"Name": "app", "Applicant__c": account})
    client.post("/sobjects/PassFort_Application__c/", json={"Name": "orphan"})
    soql = (
        "SELECT Name, Applicant__r.Name, Applicant__r.PassFort_Profile_Id__c"
        " FROM PassFort_Application__c ORDER BY Name"
    )
    rows = client.get("/query", params={"q": soql}).json()["records"]
    assert rows[0]["Applicant__r"] == {
        "attributes": {"type": "Account", "url": f"{API}/sobjects/Account/{account}"},
        "Name": "Acme",
        "PassFort_Profile_Id__c": "p",
    }
    assert rows[1]["Applicant__r"] is None
    assert list(rows[0]) == ["attributes", "Name", "Applicant__r"]


def test_query_all_sees_deleted_records(client: httpx.Client, sf: Any) -> None:
    kept, gone = (client.post("/sobjects/Account/", json={"Name": n}).json()["id"] for n in ("kept", "gone"))
    client.delete(f"/sobjects/Account/{gone}")
    assert [r["Id"] for r in sf.query("SELECT Id FROM Account")["records"]] == [kept]
    every = sf.query_all("SELECT Id, IsDeleted FROM Account ORDER BY Name", include_deleted=True)["records"]
    assert [(r["Id"], r["IsDeleted"]) for r in every] == [(gone, True), (kept, False)]


def test_count_and_aggregate(client: httpx.Client) -> None:
    load_accounts(client, 30)
    counted = client.get(
        "/query", params={"q": "SELECT COUNT() FROM Account WHERE Name LIKE 'N0001%'"}
    ).json()
    assert counted == {"totalSize": 10, "done": True, "records": []}
    aggregate = client.get("/query", params={"q": "SELECT COUNT(Id) FROM Account"}).json()
    assert aggregate["records"] == [{"attributes": {"type": "AggregateResult"}, "expr0": 30}]


def test_errors_have_the_documented_shape(client: httpx.Client, sf: Any) -> None:
    response = client.get("/query", params={"q": "SELECT Id, FullName FROM Account"})
    assert response.status_code == 400
    (error,) = response.json()
    assert error["errorCode"] == "INVALID_FIELD"
    assert error["message"].startswith("\nSELECT Id, FullName FROM Account\n")
    assert "No such column 'FullName' on entity 'Account'" in error["message"]
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.query("SELECT Id FROM Account WHERE Name = 'unterminated")
    assert error_code(info.value) == "MALFORMED_QUERY"
    assert client.get("/query").json()[0]["errorCode"] == "MALFORMED_QUERY"


def test_in_on_an_external_id_matches_case_insensitively(client: httpx.Client) -> None:
    load_accounts(client, 400)
    values = ",".join(f"'P{i}'" for i in range(0, 400, 7))
    rows = client.get(
        "/query",
        params={
            "q": f"SELECT PassFort_Profile_Id__c FROM Account WHERE PassFort_Profile_Id__c IN ({values})"
        },
    ).json()
    assert sorted(r["PassFort_Profile_Id__c"] for r in rows["records"]) == sorted(
        f"p{i}" for i in range(0, 400, 7)
    )


def test_versions_resources_and_limits(client: httpx.Client, emulator: EmulatorHandle) -> None:
    versions = httpx.get(emulator.url + "/services/data/")
    assert versions.status_code == 200
    assert "sforce-limit-info" not in versions.headers
    assert {"label": "v59.0", "url": "/services/data/v59.0", "version": "59.0"} in versions.json()
    assert httpx.get(emulator.url + "/services/data/v59.0/").status_code == 401
    assert client.get("/").json()["query"] == f"{API}/query"
    limits = client.get("/limits")
    used = int(limits.headers["sforce-limit-info"].split("=")[1].split("/")[0])
    assert limits.json()["DailyApiRequests"] == {"Max": 1_000_000, "Remaining": 1_000_000 - used}
    assert client.get(str(client.base_url).replace("v59.0", "v99.0") + "limits").status_code == 404


def test_overlong_request_uri_is_414(client: httpx.Client, emulator: EmulatorHandle) -> None:
    values = ",".join(f"'{i:020d}'" for i in range(800))  # ~18,000 characters once encoded
    response = client.get("/query", params={"q": f"SELECT Id FROM Account WHERE Name IN ({values})"})
    assert response.status_code == 414
    assert response.json()[0]["errorCode"] == "URI_TOO_LONG"
    assert emulator.stats()["api_usage"] == 0
    shorter = ",".join(f"'{i:020d}'" for i in range(500))
    fits = client.get("/query", params={"q": f"SELECT Id FROM Account WHERE Name IN ({shorter})"})
    assert fits.status_code == 200


@pytest.mark.parametrize(
    "literal", ["LAST_N_DAYS:999999999", "NEXT_N_DAYS:999999999", "NEXT_N_DAYS:" + "9" * 5000]
)
@pytest.mark.parametrize("field", ["CreatedDate", "Birthdate"])
def test_date_literals_out_of_range_are_malformed(client: httpx.Client, literal: str, field: str) -> None:
    response = client.get("/query", params={"q": f"SELECT Id FROM Contact WHERE {field} = {literal}"})
    assert response.status_code == 400, response.text
    assert response.json()[0]["errorCode"] == "MALFORMED_QUERY"
