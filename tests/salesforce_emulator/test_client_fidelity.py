"""What real clients (the Salesforce CLI, jsforce, simple-salesforce) ask of Salesforce beyond CRUD:
identity, column metadata, aggregate aliases, child subqueries, SOSL, Composite Batch and Tree,
record counts, and path segments in any letter case."""

from __future__ import annotations

from typing import Any

import httpx

from fieldline.adapters.salesforce.emulator.server import EmulatorHandle
from tests.salesforce_emulator.conftest import API, LoopbackSession, connect, records, start


def make_account_with_contacts(client: httpx.Client, name: str, *last_names: str) -> str:
    account_id: str = client.post("/sobjects/Account", json={"Name": name}).json()["id"]
    for last in last_names:
        response = client.post("/sobjects/Contact", json={"LastName": last, "AccountId": account_id})
        assert response.status_code == 201
    return account_id


# -- identity ------------------------------------------------------------------------------------
def test_token_identity_url_answers_with_the_user_and_org(emulator: EmulatorHandle) -> None:
    grant = {
        "grant_type": "password",
        "client_id": emulator.client_id,
        "client_secret": emulator.client_secret,
        "username": emulator.username,
        "password": emulator.password + emulator.security_token,
    }
    token = httpx.post(f"{emulator.url}/services/oauth2/token", data=grant).json()
    identity = httpx.get(token["id"], headers={"Authorization": f"Bearer {token['access_token']}"})
    assert identity.status_code == 200
    body = identity.json()
    assert body["id"] == token["id"]
    assert body["username"] == emulator.username
    assert token["id"].endswith(f"/{body['organization_id']}/{body['user_id']}")
    assert body["urls"]["rest"].endswith("/services/data/v{version}/")
    by_param = httpx.get(token["id"], params={"oauth_token": token["access_token"], "version": "59.0"})
    assert by_param.json()["urls"]["rest"] == f"{emulator.url}/services/data/v59.0/"


def test_identity_refuses_a_bad_token_and_another_users_id(emulator: EmulatorHandle) -> None:
    org_id = emulator.emulator.settings.org_id
    user_id = emulator.emulator.settings.user_id
    bad = httpx.get(f"{emulator.url}/id/{org_id}/{user_id}", headers={"Authorization": "Bearer nope"})
    assert (bad.status_code, bad.text) == (403, "Bad_OAuth_Token")
    other = httpx.get(
        f"{emulator.url}/id/{org_id}/005000000000001AAA",
        headers={"Authorization": f"Bearer {emulator.token}"},
    )
    assert (other.status_code, other.text) == (404, "Bad_Id")


def test_userinfo_and_the_resources_list_name_the_identity(
    client: httpx.Client, emulator: EmulatorHandle
) -> None:
    info = httpx.get(f"{emulator.url}/services/oauth2/userinfo", headers=client.headers)
    assert info.status_code == 200
    assert info.json()["preferred_username"] == emulator.username
    resources = client.get("").json()
    assert resources["identity"] == info.json()["sub"]
    assert resources["search"] == f"{API}/search"
    assert httpx.get(f"{emulator.url}/services/oauth2/userinfo").status_code == 403


def test_user_and_organization_are_queryable(client: httpx.Client, sf: Any, emulator: EmulatorHandle) -> None:
    assert sf.is_sandbox() is False
    users = client.get("/query", params={"q": "SELECT Id, Username FROM User"}).json()["records"]
    assert [(u["Id"], u["Username"]) for u in users] == [
        (emulator.emulator.settings.user_id, emulator.username)
    ]
    refused = client.post("/sobjects/Organization", json={"Name": "mine"})
    assert refused.status_code == 400


# -- query ---------------------------------------------------------------------------------------
def test_columns_true_describes_the_columns_without_rows(client: httpx.Client) -> None:
    make_account_with_contacts(client, "Acme", "Ng")
    soql = "SELECT Id, Account.Name, LastName FROM Contact"
    body = client.get("/query", params={"q": soql, "columns": "true"}).json()
    assert "records" not in body
    assert (body["entityName"], body["keyPrefix"], body["idSelected"]) == ("Contact", "003", True)
    columns = body["columnMetadata"]
    assert [c["columnName"] for c in columns] == ["Id", "Account", "LastName"]
    assert [c["columnName"] for c in columns[1]["joinColumns"]] == ["Name"]
    assert columns[2]["textType"] is True
    assert columns[2]["apexType"] == "String"
    sub = client.get(
        "/query", params={"q": "SELECT Name, (SELECT LastName FROM Contacts) FROM Account", "columns": "true"}
    ).json()["columnMetadata"][1]
    assert (sub["columnName"], sub["aggregate"], [c["columnName"] for c in sub["joinColumns"]]) == (
        "Contacts",
        True,
        ["LastName"],
    )


def test_aggregate_aliases_name_the_result_columns(client: httpx.Client) -> None:
    make_account_with_contacts(client, "Acme", "Ng", "Ortiz")
    row = client.get("/query", params={"q": "SELECT COUNT(Id) cnt, COUNT(Email) FROM Contact"}).json()[
        "records"
    ][0]
    assert (row["cnt"], row["expr0"]) == (2, 0)


def test_child_subquery_nests_each_parents_children(client: httpx.Client) -> None:
    make_account_with_contacts(client, "Acme", "Ng", "Ortiz")
    make_account_with_contacts(client, "Empty")
    soql = "SELECT Name, (SELECT LastName FROM Contacts ORDER BY LastName DESC) FROM Account ORDER BY Name"
    rows = client.get("/query", params={"q": soql}).json()["records"]
    assert rows[0]["Contacts"]["totalSize"] == 2
    assert [c["LastName"] for c in rows[0]["Contacts"]["records"]] == ["Ortiz", "Ng"]
    assert rows[1]["Contacts"] is None
    unknown = client.get("/query", params={"q": "SELECT Name, (SELECT Id FROM Nope) FROM Account"})
    assert (unknown.status_code, unknown.json()[0]["errorCode"]) == (400, "INVALID_TYPE")


def test_malformed_subqueries_and_searches_are_400s(client: httpx.Client) -> None:
    queries = [
        "SELECT Id, (SELECT Id FROM Contacts FROM Account",
        "SELECT Id, (SELECT Id, (SELECT Id FROM Contacts) FROM Contacts) FROM Account",
        "SELECT Id, (SELECT Nope FROM Contacts) FROM Account",
        "SELECT COUNT(Id), (SELECT Id FROM Contacts) FROM Account",
        "SELECT COUNT(Id) FROM FROM Account",
    ]
    for soql in queries:
        response = client.get("/query", params={"q": soql})
        assert response.status_code == 400, soql
    searches = [
        "",
        "FIND {unterminated",
        "FIND {acme} RETURNING Nope(Id)",
        "FIND {acme} RETURNING Account(Id FROM Contact)",
        "FIND {acme} RETURNING Account(Nope)",
        "FIND {acme} IN EVERY FIELDS",
        "FIND {**}",
    ]
    for sosl in searches:
        response = client.get("/search", params={"q": sosl})
        assert response.status_code == 400, sosl


# -- search and counts ---------------------------------------------------------------------------
def test_sosl_finds_words_in_text_fields(client: httpx.Client) -> None:
    make_account_with_contacts(client, "Acme Widgets", "Acmeson")
    client.post("/sobjects/Account", json={"Name": "Globex"})
    found = client.get(
        "/search", params={"q": "FIND {acme*} IN ALL FIELDS RETURNING Account(Id, Name), Contact(LastName)"}
    ).json()["searchRecords"]
    assert sorted((r["attributes"]["type"], r.get("Name") or r.get("LastName")) for r in found) == [
        ("Account", "Acme Widgets"),
        ("Contact", "Acmeson"),
    ]
    exact = client.get(
        "/search", params={"q": "FIND {Acme} RETURNING Account(Name WHERE Name LIKE 'A%' LIMIT 1)"}
    )
    assert [r["Name"] for r in exact.json()["searchRecords"]] == ["Acme Widgets"]
    short = client.get("/search", params={"q": "FIND {a}"})
    assert (short.status_code, short.json()[0]["errorCode"]) == (400, "INVALID_SEARCH")
    assert client.get("/search", params={"q": "SELECT Id FROM Account"}).status_code == 400


def test_record_count_per_object(client: httpx.Client) -> None:
    make_account_with_contacts(client, "Acme", "Ng")
    body = client.get("/limits/recordCount", params={"sObjects": "Account,Contact,Nope"}).json()
    assert body == {"sObjects": [{"count": 1, "name": "Account"}, {"count": 1, "name": "Contact"}]}


# -- composite -----------------------------------------------------------------------------------
def test_composite_batch_runs_independent_subrequests_and_halts_on_error(client: httpx.Client) -> None:
    body = {
        "batchRequests": [
            {"method": "POST", "url": "v59.0/sobjects/Account", "richInput": {"Name": "A"}},
            {"method": "POST", "url": "v59.0/sobjects/Contact", "richInput": {"FirstName": "no last name"}},
            {"method": "GET", "url": "v59.0/limits/recordCount?sObjects=Account"},
        ]
    }
    answer = client.post("/composite/batch", json=body).json()
    assert answer["hasErrors"] is True
    assert [r["statusCode"] for r in answer["results"]] == [201, 400, 200]
    assert answer["results"][2]["result"]["sObjects"][0]["count"] == 1
    halted = client.post("/composite/batch", json={**body, "haltOnError": True}).json()
    assert [r["statusCode"] for r in halted["results"]] == [201, 400, 412]
    assert halted["results"][2]["result"][0]["errorCode"] == "BATCH_PROCESSING_HALTED"


def test_composite_tree_creates_parents_with_children_or_nothing(
    client: httpx.Client, emulator: EmulatorHandle
) -> None:
    contact = {"attributes": {"type": "Contact", "referenceId": "c1"}, "LastName": "Ng"}
    tree = {
        "records": [
            {
                "attributes": {"type": "Account", "referenceId": "a1"},
                "Name": "Acme",
                "Contacts": {"records": [contact]},
            }
        ]
    }
    created = client.post("/composite/tree/Account", json=tree)
    assert created.status_code == 201
    results = created.json()["results"]
    assert [r["referenceId"] for r in results] == ["a1", "c1"]
    assert emulator.records("Contact")[0]["AccountId"] == results[0]["id"]
    broken = {"attributes": {"type": "Contact", "referenceId": "c2"}, "FirstName": "no last name"}
    tree["records"][0]["Contacts"] = {"records": [broken]}
    failed = client.post("/composite/tree/Account", json=tree)
    assert failed.status_code == 400
    assert failed.json()["results"][0]["referenceId"] == "c2"
    assert failed.json()["results"][0]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    assert len(emulator.records("Account")) == 1  # the second tree's Account was rolled back
    too_many = {"records": records(*({"Name": str(i)} for i in range(201)))}
    for number, record in enumerate(too_many["records"]):
        record["attributes"]["referenceId"] = f"r{number}"
    assert client.post("/composite/tree/Account", json=too_many).status_code == 400


def test_composite_tree_refuses_malformed_trees_with_a_4xx(
    client: httpx.Client, emulator: EmulatorHandle
) -> None:
    def account(reference: str, **extra: Any) -> dict[str, Any]:
        return {"attributes": {"type": "Account", "referenceId": reference}, "Name": reference, **extra}

    hostile: list[Any] = [
        {"records": "not a list"},
        {"records": [{"Name": "no attributes"}]},
        {"records": [account("a1", Contacts={"records": "abc"})]},
        {"records": [account("a1"), account("a1")]},
        {"records": [{"attributes": {"type": "Contact", "referenceId": "c1"}, "LastName": "x"}]},
        [1, 2],
    ]
    for body in hostile:
        response = client.post("/composite/tree/Account", json=body)
        assert response.status_code == 400, body
    assert emulator.records("Account") == []


# -- paths ---------------------------------------------------------------------------------------
def test_path_segments_match_in_any_letter_case(client: httpx.Client) -> None:
    job = client.post("/jobs/ingest", json={"object": "Account", "operation": "insert"}).json()
    for spelling in ("unprocessedrecords", "unprocessedRecords"):
        assert client.get(f"/jobs/ingest/{job['id']}/{spelling}").status_code == 200
    assert client.get("/SObjects/account/DESCRIBE").json()["name"] == "Account"


# -- simple-salesforce's own flows ---------------------------------------------------------------
def test_simple_salesforce_bulk2_results_query_all_search_and_is_sandbox() -> None:
    with start(query_page_size=1) as emulator, LoopbackSession(emulator.url) as session:
        sf = connect(emulator, session)
        data = [{"Name": "bulk a", "NumberOfEmployees": "1"}, {"Name": "bulk b", "NumberOfEmployees": "x"}]
        (result,) = sf.bulk2.Account.insert(records=data, wait=0.05)
        everything = sf.bulk2.Account.get_all_ingest_records(result["job_id"])  # asks for unprocessedRecords
        assert [r["Name"] for r in everything["successfulRecords"]] == ["bulk a"]
        assert [r["Name"] for r in everything["failedRecords"]] == ["bulk b"]
        assert everything["unprocessedRecords"] == []
        account = sf.Account.create({"Name": "with contact"})["id"]
        sf.Contact.create({"LastName": "Ng", "AccountId": account})
        nested = sf.query_all("SELECT Name, (SELECT LastName FROM Contacts) FROM Account ORDER BY Name")
        assert (nested["records"][0]["Name"], nested["records"][0]["Contacts"]) == ("bulk a", None)
        assert nested["records"][1]["Contacts"]["records"][0]["LastName"] == "Ng"
        assert emulator.stats()["by_kind"]["query_more"] == 1  # a page of one record each
        found = sf.search("FIND {bulk} RETURNING Account(Name)")
        assert [r["Name"] for r in found["searchRecords"]] == ["bulk a"]
        assert sf.is_sandbox() is False
