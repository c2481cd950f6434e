"""sObject CRUD, upsert by external id, describe and server-side validation over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from simple_salesforce.exceptions import (
    SalesforceMalformedRequest,
    SalesforceResourceNotFound,
)

from fieldline.adapters.salesforce.emulator.server import EmulatorHandle
from tests.salesforce_emulator.conftest import API, error_code, start


def create(client: httpx.Client, obj: str, body: dict[str, Any]) -> str:
    response = client.post(f"/sobjects/{obj}/", json=body)
    assert response.status_code == 201, response.text
    assert response.json()["success"] is True
    assert response.json()["errors"] == []
    return str(response.json()["id"])


def test_crud_round_trip(client: httpx.Client, emulator: EmulatorHandle) -> None:
    account_id = create(client, "Account", {"Name": "Acme", "Industry": "Banking", "Website": ""})
    assert account_id.startswith("001")
    assert len(account_id) == 18
    got = client.get(f"/sobjects/Account/{account_id}").json()
    assert got["attributes"] == {"type": "Account", "url": f"{API}/sobjects/Account/{account_id}"}
    assert got["Name"] == "Acme"
    assert got["Website"] is None
    assert got["CreatedDate"].endswith("+0000")
    assert got["IsDeleted"] is False
    response = client.patch(f"/sobjects/account/{account_id.lower()}", json={"name": "Acme 2"})
    assert response.status_code == 204
    assert response.content == b""
    partial = client.get(f"/sobjects/Account/{account_id[:15]}", params={"fields": "name,Industry"}).json()
    assert list(partial) == ["attributes", "Name", "Industry"]
    assert partial["Name"] == "Acme 2"
    assert client.delete(f"/sobjects/Account/{account_id}").status_code == 204
    gone = client.get(f"/sobjects/Account/{account_id}")
    assert gone.status_code == 404
    assert gone.json()[0]["errorCode"] == "NOT_FOUND"
    again = client.delete(f"/sobjects/Account/{account_id}")
    assert again.status_code == 404
    assert again.json()[0]["errorCode"] == "ENTITY_IS_DELETED"
    assert emulator.stats()["by_kind"]["sobject_get"] == 3


def test_unknown_object_and_resource_are_not_found(client: httpx.Client) -> None:
    for response in (client.post("/sobjects/Nope__c/", json={}), client.get("/nowhere")):
        assert response.status_code == 404
        assert response.json() == [
            {"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}
        ] or (response.json()[0]["errorCode"] == "NOT_FOUND")


def error_of(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 400, response.text
    body = response.json()
    assert isinstance(body, list)
    assert set(body[0]) == {"message", "errorCode", "fields"}
    return dict(body[0])


@pytest.mark.parametrize(
    ("obj", "body", "code", "fields", "message"),
    [
        pytest.param(
            "Account",
            {"Nme": "x"},
            "INVALID_FIELD",
            [],
            "No such column 'Nme' on sobject of type Account",
            id="unknown-field",
        ),
        pytest.param(
            "Contact",
            {"FirstName": "A"},
            "REQUIRED_FIELD_MISSING",
            ["LastName"],
            "Required fields are missing: [LastName]",
            id="required",
        ),
        pytest.param(
            "Account",
            {"Name": "x" * 256},
            "STRING_TOO_LONG",
            ["Name"],
            "Account Name: data value too large",
            id="too-long",
        ),
        pytest.param(
            "PassFort_Application__c",
            {"Status__c": "Nope"},
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            ["Status__c"],
            "Status: bad value for restricted picklist field: Nope",
            id="picklist",
        ),
        pytest.param(
            "Account",
            {"Name": "x", "CreatedDate": "2024-01-01T00:00:00Z"},
            "INVALID_FIELD_FOR_INSERT_UPDATE",
            ["CreatedDate"],
            "Unable to create/update fields: CreatedDate",
            id="read-only",
        ),
        pytest.param(
            "Contact",
            {"LastName": "x", "AccountId": "nope"},
            "MALFORMED_ID",
            ["AccountId"],
            "id value of incorrect type",
            id="malformed-reference",
        ),
        pytest.param(
            "Contact",
            {"LastName": "x", "AccountId": "001000000000000AAA"},
            "INVALID_CROSS_REFERENCE_KEY",
            ["AccountId"],
            "invalid cross reference id",
            id="missing-reference",
        ),
        pytest.param(
            "Account",
            {"Name": "x", "NumberOfEmployees": "many"},
            "JSON_PARSER_ERROR",
            ["NumberOfEmployees"],
            "many",
            id="type",
        ),
        pytest.param(
            "Contact",
            {"LastName": "x", "Email": "not-an-email"},
            "INVALID_EMAIL_ADDRESS",
            ["Email"],
            "invalid email address",
            id="email",
        ),
        pytest.param(
            "Account",
            {"Name": "x", "Id": "001000000000000AAA"},
            "INVALID_FIELD_FOR_INSERT_UPDATE",
            ["Id"],
            "cannot specify Id in an insert call",
            id="id-on-insert",
        ),
    ],
)
def test_create_validation(  # noqa: PLR0917 - one argument per parametrize column
    client: httpx.Client, obj: str, body: dict[str, Any], code: str, fields: list[str], message: str
) -> None:
    error = error_of(client.post(f"/sobjects/{obj}/", json=body))
    assert error["errorCode"] == code
    assert error["fields"] == fields
    assert message in error["message"]


def test_duplicate_external_id(client: httpx.Client) -> None:
    first = create(client, "Account", {"Name": "a", "PassFort_Profile_Id__c": "p-1"})
    error = error_of(client.post("/sobjects/Account/", json={"Name": "b", "PassFort_Profile_Id__c": "P-1"}))
    assert error["errorCode"] == "DUPLICATE_VALUE"
    assert (
        error["message"]
        == f"duplicate value found: PassFort_Profile_Id__c duplicates value on record with id: {first}"
    )


def test_update_validation_and_clearing_required(client: httpx.Client) -> None:
    account_id = create(client, "Account", {"Name": "a"})
    assert error_of(client.patch(f"/sobjects/Account/{account_id}", json={"Name": None}))["errorCode"] == (
        "REQUIRED_FIELD_MISSING"
    )
    assert error_of(client.patch(f"/sobjects/Account/{account_id}", json={"Id": "x"}))["errorCode"] == (
        "INVALID_FIELD_FOR_INSERT_UPDATE"
    )
    assert (
        client.patch(f"/sobjects/Account/{account_id}", json={"Id": account_id, "Phone": "1"}).status_code
        == 204
    )


def test_type_coercion(client: httpx.Client) -> None:
    account_id = create(
        client, "Account", {"Name": 42, "NumberOfEmployees": "12", "AnnualRevenue": 1.5, "Description": True}
    )
    got = client.get(f"/sobjects/Account/{account_id}").json()
    assert (got["Name"], got["NumberOfEmployees"], got["AnnualRevenue"], got["Description"]) == (
        "42",
        12,
        1.5,
        "true",
    )
    app = create(client, "PassFort_Application__c", {"Last_Event_At__c": "2024-05-01T12:30:00+02:00"})
    stored = client.get(f"/sobjects/PassFort_Application__c/{app}").json()
    assert stored["Last_Event_At__c"] == "2024-05-01T10:30:00.000+0000"
    lead = create(client, "Lead", {"LastName": "L", "Company": "C"})
    assert client.get(f"/sobjects/Lead/{lead}").json()["Status"] == "Open - Not Contacted"
    contact = create(client, "Contact", {"LastName": "Doe", "FirstName": "Jane", "Birthdate": "1990-02-03"})
    body = client.get(f"/sobjects/Contact/{contact}").json()
    assert (body["Name"], body["Birthdate"], body["HasOptedOutOfEmail"]) == ("Jane Doe", "1990-02-03", False)


def test_malformed_json_body(client: httpx.Client) -> None:
    response = client.post(
        "/sobjects/Account/", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert error_of(response)["errorCode"] == "JSON_PARSER_ERROR"
    assert error_of(client.post("/sobjects/Account/", json=[1]))["errorCode"] == "JSON_PARSER_ERROR"


def test_unknown_fields_parameter(client: httpx.Client) -> None:
    account_id = create(client, "Account", {"Name": "a"})
    assert error_of(client.get(f"/sobjects/Account/{account_id}", params={"fields": "Nope"}))[
        "errorCode"
    ] == ("INVALID_FIELD")


# -- upsert ----------------------------------------------------------------------------------------
def test_upsert_status_codes(client: httpx.Client) -> None:
    url = "/sobjects/Account/PassFort_Profile_Id__c/p%2F1"
    created = client.patch(url, json={"Name": "A"})
    assert created.status_code == 201
    assert created.json() == {"id": created.json()["id"], "success": True, "errors": [], "created": True}
    updated = client.patch(url, json={"Name": "B"})
    assert updated.status_code == 200
    assert updated.json() == {"id": created.json()["id"], "success": True, "errors": [], "created": False}
    got = client.get(url).json()
    assert got["Name"] == "B"
    assert got["PassFort_Profile_Id__c"] == "p/1"
    old = client.patch(str(client.base_url).rstrip("/").replace("v59.0", "v45.0") + url, json={"Name": "C"})
    assert old.status_code == 204


def test_upsert_update_only_and_unknown_field(client: httpx.Client) -> None:
    missing = client.patch(
        "/sobjects/Account/PassFort_Profile_Id__c/zz", params={"updateOnly": "true"}, json={}
    )
    assert missing.status_code == 404
    assert missing.json()[0]["errorCode"] == "NOT_FOUND"
    assert client.get("/sobjects/Account/", params={"q": ""}).status_code == 200
    for field in ("Nope__c", "Name"):
        response = client.patch(f"/sobjects/Account/{field}/x", json={"Name": "x"})
        assert response.status_code == 404
        assert response.json()[0]["errorCode"] == "NOT_FOUND"


def test_upsert_body_must_agree_with_url(client: httpx.Client) -> None:
    response = client.patch(
        "/sobjects/Account/PassFort_Profile_Id__c/a", json={"Name": "x", "PassFort_Profile_Id__c": "b"}
    )
    assert error_of(response)["errorCode"] == "INVALID_FIELD"


def test_several_matches_answer_300(emulator: EmulatorHandle, client: httpx.Client) -> None:
    # A non-unique id-lookup field can hold the same value twice: make one in the store directly.
    app = emulator.org.table("PassFort_Application__c")
    assert app is not None
    url = "/sobjects/PassFort_Application__c/Application_ID__c/dup"
    assert client.patch(url, json={"Flag__c": "a"}).status_code == 201
    record = next(iter(app.rows.values()))
    twin = {**record, "Id": emulator.org.ids.new("a0X")}
    app.put(twin)
    assert client.get(url).status_code == 300
    response = client.patch(url, json={"Flag__c": "b"})
    assert response.status_code == 300
    assert sorted(response.json()) == sorted(f"{API}/sobjects/PassFort_Application__c/{r}" for r in app.rows)


def test_create_as_upsert_with_id(client: httpx.Client) -> None:
    response = client.post("/sobjects/Account/Id", json={"Name": "via Id"})
    assert response.status_code == 201
    assert response.json() == {"id": response.json()["id"], "success": True, "errors": [], "created": True}
    assert client.get(f"/sobjects/Account/Id/{response.json()['id']}").json()["Name"] == "via Id"
    assert client.patch("/sobjects/Account/Id/001000000000000AAA", json={"Name": "x"}).status_code == 404


def test_delete_by_external_id(client: httpx.Client) -> None:
    client.patch("/sobjects/Account/PassFort_Profile_Id__c/del", json={"Name": "x"})
    assert client.delete("/sobjects/Account/PassFort_Profile_Id__c/del").status_code == 204
    assert client.get("/sobjects/Account/PassFort_Profile_Id__c/del").status_code == 404


def test_simple_salesforce_crud(sf: Any) -> None:
    created = sf.Account.create({"Name": "Acme", "PassFort_Profile_Id__c": "a b"})
    assert created["success"] is True
    assert sf.Account.get(created["id"])["Name"] == "Acme"
    assert sf.Account.get_by_custom_id("PassFort_Profile_Id__c", "a b")["Id"] == created["id"]
    assert sf.Account.upsert("PassFort_Profile_Id__c/new-1", {"Name": "N"}) == 201
    assert sf.Account.upsert("PassFort_Profile_Id__c/new-1", {"Name": "M"}) == 200
    assert sf.Account.update(created["id"], {"Phone": "123"}) == 204
    assert sf.Account.delete(created["id"]) == 204
    with pytest.raises(SalesforceResourceNotFound):
        sf.Account.get(created["id"])
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.Contact.create({"FirstName": "x"})
    assert error_code(info.value) == "REQUIRED_FIELD_MISSING"
    sf.PassFort_Application__c.create({"Application_ID__c": "x"})
    with pytest.raises(SalesforceResourceNotFound):
        sf.PassFort_Application__c.get_by_custom_id("Application_ID__c", "y")
    sf.query("SELECT Id FROM Account")
    assert sf.api_usage["api-usage"].used > 0


# -- describe --------------------------------------------------------------------------------------
def test_describe_object(sf: Any) -> None:
    described = sf.PassFort_Application__c.describe()
    assert (described["name"], described["keyPrefix"], described["custom"]) == (
        "PassFort_Application__c",
        "a0X",
        True,
    )
    fields = {f["name"]: f for f in described["fields"]}
    status = fields["Status__c"]
    assert status["type"] == "picklist"
    assert status["restrictedPicklist"] is True
    assert [p["value"] for p in status["picklistValues"]] == [
        "Applied",
        "In review",
        "Approved",
        "Rejected",
        "Cancelled",
    ]
    app_id = fields["Application_ID__c"]
    assert (app_id["externalId"], app_id["unique"], app_id["idLookup"], app_id["length"]) == (
        True,
        True,
        True,
        36,
    )
    applicant = fields["Applicant__c"]
    assert applicant["referenceTo"] == ["Account"]
    assert applicant["relationshipName"] == "Applicant__r"
    assert fields["Id"]["createable"] is False
    assert fields["CreatedDate"]["updateable"] is False
    required = {
        "name",
        "label",
        "type",
        "length",
        "createable",
        "updateable",
        "nillable",
        "defaultedOnCreate",
        "unique",
        "externalId",
        "idLookup",
        "referenceTo",
        "relationshipName",
        "picklistValues",
        "restrictedPicklist",
        "calculated",
        "autoNumber",
        "filterable",
        "soapType",
        "custom",
    }
    assert required <= set(status)
    last_name = {f["name"]: f for f in sf.Contact.describe()["fields"]}["LastName"]
    assert (last_name["nillable"], last_name["createable"], last_name["defaultedOnCreate"]) == (
        False,
        True,
        False,
    )
    account = sf.Account.describe()
    assert {"childSObject": "PassFort_Application__c", "field": "Applicant__c"}.items() <= next(
        r for r in account["childRelationships"] if r["childSObject"] == "PassFort_Application__c"
    ).items()


def test_describe_global(sf: Any) -> None:
    described = sf.describe()
    assert described is not None
    names = {o["name"] for o in described["sobjects"]}
    assert {"Account", "Contact", "Lead", "PassFort_Application__c"} <= names
    assert sf.Account.metadata()["objectDescribe"]["keyPrefix"] == "001"


# -- relationships by external id, Id in upsert bodies, changes in a window ---------------------------
def test_parent_by_external_id(client: httpx.Client) -> None:
    account_id = client.patch("/sobjects/Account/PassFort_Profile_Id__c/p1", json={"Name": "A"}).json()["id"]
    made = client.post(
        "/sobjects/PassFort_Application__c/", json={"Applicant__r": {"PassFort_Profile_Id__c": "P1"}}
    )
    assert made.status_code == 201
    got = client.get(
        f"/sobjects/PassFort_Application__c/{made.json()['id']}", params={"fields": "Applicant__c"}
    )
    assert got.json()["Applicant__c"] == account_id
    missing = client.post(
        "/sobjects/PassFort_Application__c/", json={"Applicant__r": {"PassFort_Profile_Id__c": "zz"}}
    )
    assert error_of(missing) == {
        "errorCode": "INVALID_FIELD",
        "message": "Foreign key external ID: zz not found for field PassFort_Profile_Id__c in entity Account",
        "fields": [],
    }
    not_indexed = client.post("/sobjects/PassFort_Application__c/", json={"Applicant__r": {"Name": "A"}})
    assert error_of(not_indexed)["errorCode"] == "INVALID_FIELD"


def test_id_in_an_upsert_body_is_refused(client: httpx.Client) -> None:
    account_id = client.patch("/sobjects/Account/PassFort_Profile_Id__c/p1", json={"Name": "A"}).json()["id"]
    refused = client.patch(
        "/sobjects/Account/PassFort_Profile_Id__c/p1", json={"Id": account_id, "Name": "B"}
    )
    assert error_of(refused)["message"] == "The Id field should not be specified in the sobject data."


def test_updated_and_deleted_windows(sf: Any) -> None:
    start = datetime.now(UTC) - timedelta(minutes=1)
    kept = sf.Account.create({"Name": "kept"})["id"]
    gone = sf.Account.create({"Name": "gone"})["id"]
    sf.Account.delete(gone)
    end = datetime.now(UTC) + timedelta(minutes=1)
    assert sf.Account.updated(start, end)["ids"] == [kept]
    deleted = sf.Account.deleted(start, end)["deletedRecords"]
    assert [d["id"] for d in deleted] == [gone]
    assert sf.Account.updated(end, end + timedelta(minutes=1))["ids"] == []


def test_window_needs_valid_dates(client: httpx.Client) -> None:
    assert error_of(client.get("/sobjects/Account/updated/", params={"start": "x", "end": "y"}))[
        "errorCode"
    ] == ("MISSING_ARGUMENT")
    backwards = {"start": "2024-02-01T00:00:00Z", "end": "2024-01-01T00:00:00Z"}
    assert error_of(client.get("/sobjects/Account/deleted/", params=backwards))["errorCode"] == (
        "INVALID_REPLICATION_DATE"
    )


def test_unknown_api_paths_carry_the_limit_header(client: httpx.Client) -> None:
    response = client.get("/no/such/resource")
    assert response.status_code == 404
    assert response.headers["sforce-limit-info"].startswith("api-usage=")
    wrong_method = client.put("/sobjects/Account/describe")
    assert wrong_method.status_code == 405
    assert wrong_method.json()[0]["errorCode"] == "METHOD_NOT_ALLOWED"
    assert wrong_method.headers["sforce-limit-info"].startswith("api-usage=")


@pytest.mark.parametrize("moment", ["9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00"])
def test_datetimes_outside_the_utc_range_are_invalid(client: httpx.Client, moment: str) -> None:
    error = error_of(client.post("/sobjects/PassFort_Application__c/", json={"Last_Event_At__c": moment}))
    assert (error["errorCode"], error["fields"]) == ("JSON_PARSER_ERROR", ["Last_Event_At__c"])
    batch = {"records": [{"attributes": {"type": "PassFort_Application__c"}, "Last_Event_At__c": moment}]}
    (result,) = client.post("/composite/sobjects", json=batch).json()
    assert result["errors"][0]["statusCode"] == "INVALID_TYPE_ON_FIELD_IN_RECORD"
    window = {"start": "2024-01-01T00:00:00Z", "end": moment}
    assert (
        error_of(client.get("/sobjects/Account/updated/", params=window))["errorCode"] == "MISSING_ARGUMENT"
    )
    window = {"start": moment, "end": "2024-01-01T00:00:00Z"}
    assert (
        error_of(client.get("/sobjects/Account/deleted/", params=window))["errorCode"] == "MISSING_ARGUMENT"
    )


def test_deeply_nested_json_is_a_parser_error(client: httpx.Client) -> None:
    body = b'{"Name": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    response = client.post("/sobjects/Account/", content=body, headers={"content-type": "application/json"})
    assert error_of(response)["errorCode"] == "JSON_PARSER_ERROR"


@pytest.mark.parametrize("value", ['"NaN"', '"Infinity"', '"-Infinity"', '"inf"', '"1e999"', "1e999"])
def test_non_finite_numbers_are_invalid(client: httpx.Client, value: str) -> None:
    headers = {"content-type": "application/json"}
    body = f'{{"Name": "a", "AnnualRevenue": {value}}}'
    error = error_of(client.post("/sobjects/Account/", content=body, headers=headers))
    assert (error["errorCode"], error["fields"]) == ("JSON_PARSER_ERROR", ["AnnualRevenue"])
    batch = f'{{"records": [{{"attributes": {{"type": "Account"}}, "Name": "a", "AnnualRevenue": {value}}}]}}'
    (result,) = client.post("/composite/sobjects", content=batch, headers=headers).json()
    assert result["errors"][0]["statusCode"] == "INVALID_TYPE_ON_FIELD_IN_RECORD"


@pytest.mark.parametrize("token", [b"NaN", b"Infinity", b"-Infinity"])
def test_bare_non_finite_json_tokens_are_a_parser_error(client: httpx.Client, token: bytes) -> None:
    body = b'{"Name": "a", "AnnualRevenue": ' + token + b"}"
    response = client.post("/sobjects/Account/", content=body, headers={"content-type": "application/json"})
    error = error_of(response)
    assert error["errorCode"] == "JSON_PARSER_ERROR"
    assert error["fields"] == []


def test_a_non_finite_stored_value_is_never_served_as_json(
    client: httpx.Client, emulator: EmulatorHandle
) -> None:
    account_id = create(client, "Account", {"Name": "a"})
    table = emulator.store.table("Account")
    assert table is not None
    table.put({**table.rows[account_id], "AnnualRevenue": float("nan")})  # as a bug could store it
    response = client.get(f"/sobjects/Account/{account_id}")
    assert response.status_code == 500
    assert response.json()[0]["errorCode"] == "UNKNOWN_EXCEPTION"


def test_restricted_multi_select_picklists_check_every_value(tmp_path: Path) -> None:
    org_file = tmp_path / "org.yaml"
    org_file.write_text(
        "objects: {Item__c: {fields: {"
        "Colors__c: {type: multipicklist, picklist: [Red, Green, Blue], restricted: true},"
        "Tags__c: {type: multipicklist, picklist: [a, b]}}}}"
    )
    with (
        start(org_file) as handle,
        httpx.Client(
            base_url=handle.url + API, headers={"Authorization": f"Bearer {handle.token}"}
        ) as client,
    ):
        item = create(client, "Item__c", {"Colors__c": "Red;Blue", "Tags__c": "a;other"})
        assert client.get(f"/sobjects/Item__c/{item}").json()["Colors__c"] == "Red;Blue"
        error = error_of(client.post("/sobjects/Item__c/", json={"Colors__c": "Red;Purple"}))
        assert (error["errorCode"], error["fields"]) == (
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            ["Colors__c"],
        )
        assert "Purple" in error["message"]
        update = client.patch(f"/sobjects/Item__c/{item}", json={"Colors__c": "Green;red"})
        assert error_of(update)["errorCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
        batch = {"records": [{"attributes": {"type": "Item__c"}, "Colors__c": "Green;Pink"}]}
        (result,) = client.post("/composite/sobjects", json=batch).json()
        assert result["errors"][0]["statusCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"


def test_upsert_results_carry_created_from_api_46(client: httpx.Client) -> None:
    """The ``created`` flag exists from API 46.0 on; older versions answer a plain SaveResult."""
    old_api = str(client.base_url).rstrip("/").replace("v59.0", "v45.0")
    for url in (f"{old_api}/sobjects/Account/Id", f"{old_api}/sobjects/Account/PassFort_Profile_Id__c/p45"):
        method = "POST" if url.endswith("/Id") else "PATCH"
        response = client.request(method, url, json={"Name": "old API"})
        assert response.status_code == 201
        assert response.json() == {"id": response.json()["id"], "success": True, "errors": []}
