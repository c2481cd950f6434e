"""sObject Collections: create, update, upsert, get, delete; allOrNone; limits; per-record errors."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from fieldline.adapters.salesforce.emulator.server import EmulatorHandle
from tests.salesforce_emulator.conftest import fail_validation_of, records

ROLLED_BACK = {
    "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "message": "Record rolled back because not all records were valid and the request was using AllOrNone"
    " header",
    "fields": [],
}


def post(client: httpx.Client, body: dict[str, Any]) -> list[dict[str, Any]]:
    response = client.post("/composite/sobjects", json=body)
    assert response.status_code == 200, response.text
    return list(response.json())


def test_create_in_order_with_per_record_errors(client: httpx.Client, emulator: EmulatorHandle) -> None:
    results = post(
        client,
        {
            "records": [
                *records({"Name": "A"}),
                *records({"FirstName": "x"}, type_name="Contact"),
                *records({"Name": "B", "Id": "001000000000000AAA"}),
                {"Name": "no type"},
                *records({"Name": "C"}, type_name="Nope__c"),
                *records({"LastName": "D"}, type_name="Contact"),
            ]
        },
    )
    assert [r["success"] for r in results] == [True, False, False, False, False, True]
    assert results[0]["id"].startswith("001")
    assert results[5]["id"].startswith("003")
    assert results[1] == {
        "id": None,
        "success": False,
        "errors": [
            {
                "statusCode": "REQUIRED_FIELD_MISSING",
                "message": "Required fields are missing: [LastName]",
                "fields": ["LastName"],
            }
        ],
    }
    assert [r["errors"][0]["statusCode"] for r in results[2:5]] == [
        "INVALID_FIELD",
        "INVALID_TYPE",
        "INVALID_TYPE",
    ]
    assert emulator.stats()["records"]["Account"] == 1
    assert emulator.stats()["by_kind"]["collections_create"] == 1


def test_all_or_none_rolls_everything_back(client: httpx.Client, emulator: EmulatorHandle) -> None:
    body = {
        "allOrNone": True,
        "records": records({"Name": "A"}, {"Name": "B"}, {"Phone": "1"}, {"Name": "C"}),
    }
    results = post(client, body)
    assert results[0] == {"id": None, "success": False, "errors": [ROLLED_BACK]}
    assert results[2]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    assert [r["success"] for r in results] == [False] * 4
    assert emulator.stats()["records"]["Account"] == 0
    assert emulator.stats()["writes"] == 0


def test_all_or_none_rollback_restores_updates_and_unique_values(client: httpx.Client) -> None:
    created = post(client, {"records": records({"Name": "A", "PassFort_Profile_Id__c": "k1"})})
    account_id = created[0]["id"]
    body = {
        "allOrNone": True,
        "records": [
            *records({"id": account_id, "Name": "changed", "PassFort_Profile_Id__c": "k2"}),
            *records({"id": account_id, "Name": None}),
        ],
    }
    response = client.patch("/composite/sobjects", json=body)
    results = response.json()
    assert results[0] == {"id": account_id, "success": False, "errors": [ROLLED_BACK]}
    assert results[1]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    got = client.get(f"/sobjects/Account/{account_id}").json()
    assert (got["Name"], got["PassFort_Profile_Id__c"]) == ("A", "k1")
    # the unique index was restored too: k1 is still taken, k2 is free
    again = post(
        client,
        {
            "records": records(
                {"Name": "B", "PassFort_Profile_Id__c": "k1"}, {"Name": "C", "PassFort_Profile_Id__c": "k2"}
            )
        },
    )
    assert [r["success"] for r in again] == [False, True]
    assert again[0]["errors"][0]["statusCode"] == "DUPLICATE_VALUE"


def test_duplicates_within_one_call(client: httpx.Client) -> None:
    results = post(
        client,
        {
            "records": records(
                {"Name": "A", "PassFort_Profile_Id__c": "same"},
                {"Name": "B", "PassFort_Profile_Id__c": "same"},
            )
        },
    )
    assert [r["success"] for r in results] == [True, False]
    assert results[1]["errors"][0]["message"].startswith("duplicate value found: PassFort_Profile_Id__c")


def test_more_than_200_records_is_a_400(client: httpx.Client) -> None:
    response = client.post(
        "/composite/sobjects", json={"records": records(*({"Name": str(i)} for i in range(201)))}
    )
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "EXCEEDED_ID_LIMIT"
    assert client.post("/composite/sobjects", json={"allOrNone": "yes", "records": []}).status_code == 400
    assert client.post("/composite/sobjects", json={"nope": []}).status_code == 400


def test_update_errors(client: httpx.Client) -> None:
    account_id = post(client, {"records": records({"Name": "A"})})[0]["id"]
    client.delete(f"/sobjects/Account/{account_id}")
    live = post(client, {"records": records({"Name": "B"})})[0]["id"]
    body = {
        "records": records(
            {"Name": "no id"},
            {"id": "junk", "Name": "x"},
            {"id": account_id, "Name": "x"},
            {"id": "001000000000000AAA", "Name": "x"},
            {"Id": live, "Nope__c": 1},
            {"Id": live[:15], "Name": "ok"},
        )
    }
    results = client.patch("/composite/sobjects", json=body).json()
    codes = [r["errors"][0]["statusCode"] if r["errors"] else "OK" for r in results]
    assert codes == [
        "MISSING_ARGUMENT",
        "MALFORMED_ID",
        "ENTITY_IS_DELETED",
        "INVALID_CROSS_REFERENCE_KEY",
        "INVALID_FIELD",
        "OK",
    ]
    assert results[5] == {"id": live, "success": True, "errors": []}


def test_upsert_created_flags_in_order(client: httpx.Client) -> None:
    url = "/composite/sobjects/Account/PassFort_Profile_Id__c"
    client.patch("/sobjects/Account/PassFort_Profile_Id__c/old", json={"Name": "Old"})
    body = {
        "allOrNone": False,
        "records": records(
            {"PassFort_Profile_Id__c": "new", "Name": "New"},
            {"PassFort_Profile_Id__c": "OLD", "Name": "Old 2"},
            {"Name": "no key"},
            {"PassFort_Profile_Id__c": "twice", "Name": "1"},
            {"PassFort_Profile_Id__c": "twice", "Name": "2"},
            {"PassFort_Profile_Id__c": "bad", "Name": "x" * 300},
        ),
    }
    results = client.patch(url, json=body).json()
    assert [r.get("created") for r in results[:2]] == [True, False]
    assert [r["success"] for r in results] == [True, True, False, False, False, False]
    assert [r["errors"][0]["statusCode"] for r in results[2:]] == [
        "MISSING_ARGUMENT",
        "DUPLICATE_EXTERNAL_ID",
        "DUPLICATE_EXTERNAL_ID",
        "STRING_TOO_LONG",
    ]
    assert client.get("/sobjects/Account/PassFort_Profile_Id__c/old").json()["Name"] == "Old 2"
    wrong = client.patch(
        url, json={"records": records({"PassFort_Profile_Id__c": "z", "LastName": "x"}, type_name="Contact")}
    )
    assert wrong.json()[0]["errors"][0]["statusCode"] == "INVALID_TYPE"
    assert client.patch("/composite/sobjects/Account/Nope__c", json={"records": []}).status_code == 404


def test_upsert_all_or_none(client: httpx.Client, emulator: EmulatorHandle) -> None:
    body = {
        "allOrNone": True,
        "records": records({"PassFort_Profile_Id__c": "a", "Name": "A"}, {"PassFort_Profile_Id__c": "b"}),
    }
    results = client.patch("/composite/sobjects/Account/PassFort_Profile_Id__c", json=body).json()
    assert results[0]["errors"] == [ROLLED_BACK]
    assert results[0]["id"] is None
    assert emulator.stats()["records"]["Account"] == 0


def test_get_and_delete(client: httpx.Client, sf: Any) -> None:
    ids = [r["id"] for r in post(client, {"records": records({"Name": "A", "Phone": "1"}, {"Name": "B"})})]
    got = client.get(
        "/composite/sobjects/Account",
        params={"ids": f"{ids[0]},001000000000000AAA,{ids[1][:15]}", "fields": "Name,phone"},
    ).json()
    assert got[1] is None
    assert [(r["Id"], r["Name"], r["Phone"]) for r in (got[0], got[2])] == [
        (ids[0], "A", "1"),
        (ids[1], "B", None),
    ]
    posted = sf.restful("composite/sobjects/Account", method="POST", json={"ids": ids, "fields": ["Name"]})
    assert [r["Name"] for r in posted] == ["A", "B"]
    assert client.get("/composite/sobjects/Account", params={"ids": ids[0]}).status_code == 400
    deleted = client.delete(
        "/composite/sobjects", params={"ids": f"{ids[0]},{ids[0]},junk", "allOrNone": "false"}
    ).json()
    assert deleted[0] == {"id": ids[0], "success": True, "errors": []}
    assert [d["errors"][0]["statusCode"] for d in deleted[1:]] == ["ENTITY_IS_DELETED", "MALFORMED_ID"]
    rolled = client.delete(
        "/composite/sobjects", params={"ids": f"{ids[1]},001000000000000AAA", "allOrNone": "true"}
    ).json()
    assert rolled[0] == {"id": ids[1], "success": False, "errors": [ROLLED_BACK]}
    assert client.get(f"/sobjects/Account/{ids[1]}").status_code == 200


def test_simple_salesforce_restful_collections(sf: Any) -> None:
    result = sf.restful(
        "composite/sobjects", method="POST", json={"allOrNone": False, "records": records({"Name": "A"})}
    )
    assert result[0]["success"] is True
    upserted = sf.restful(
        "composite/sobjects/Account/PassFort_Profile_Id__c",
        method="PATCH",
        json={"records": records({"PassFort_Profile_Id__c": "p", "Name": "P"})},
    )
    assert upserted[0]["created"] is True


@pytest.mark.parametrize("verb", ["POST", "PATCH"])
def test_collections_with_no_records(client: httpx.Client, verb: str) -> None:
    assert client.request(verb, "/composite/sobjects", json={"records": []}).json() == []


@pytest.mark.parametrize("all_or_none", [True, False])
def test_a_call_that_raises_commits_nothing(
    client: httpx.Client, emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch, all_or_none: bool
) -> None:
    fail_validation_of("boom", monkeypatch)
    body = {"allOrNone": all_or_none, "records": records({"Name": "A"}, {"Name": "B"}, {"Name": "boom"})}
    assert client.post("/composite/sobjects", json=body).status_code == 500
    assert emulator.stats()["records"]["Account"] == 0
    assert emulator.stats()["writes"] == 0
