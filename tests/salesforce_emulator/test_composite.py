"""The Composite resource: references between subrequests, allOrNone, limits, one API call."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from fieldline.adapters.salesforce.emulator.server import EmulatorHandle
from tests.salesforce_emulator.conftest import API, fail_validation_of, records


def sub(reference: str, method: str, url: str, body: Any = None) -> dict[str, Any]:
    request: dict[str, Any] = {"referenceId": reference, "method": method, "url": f"{API}{url}"}
    if body is not None:
        request["body"] = body
    return request


def test_parent_and_child_in_one_call(client: httpx.Client, emulator: EmulatorHandle) -> None:
    body = {
        "compositeRequest": [
            sub("acct", "PATCH", "/sobjects/Account/PassFort_Profile_Id__c/p1", {"Name": "Acme"}),
            sub(
                "app",
                "POST",
                "/sobjects/PassFort_Application__c/",
                {"Name": "A", "Applicant__c": "@{acct.id}"},
            ),
            sub("read", "GET", "/sobjects/PassFort_Application__c/@{app.id}?fields=Applicant__c"),
            sub("q", "GET", "/query?q=SELECT+Id+FROM+Account"),
            sub("first", "GET", "/sobjects/Account/@{q.records[0].Id}?fields=Name"),
        ]
    }
    response = client.post("/composite", json=body)
    assert response.status_code == 200
    results = response.json()["compositeResponse"]
    assert [r["httpStatusCode"] for r in results] == [201, 201, 200, 200, 200]
    assert [r["referenceId"] for r in results] == ["acct", "app", "read", "q", "first"]
    account_id = results[0]["body"]["id"]
    assert results[0]["body"]["created"] is True
    assert results[2]["body"]["Applicant__c"] == account_id
    assert results[4]["body"]["Name"] == "Acme"
    assert results[1]["httpHeaders"]["Location"].endswith(results[1]["body"]["id"])
    stats = emulator.stats()
    assert stats["api_usage"] == 1
    assert stats["by_kind"]["composite"] == 1
    assert {kind for kind in stats["by_kind"] if not kind.startswith("composite:")} == {"composite"}


def test_all_or_none_rolls_back_every_subrequest(client: httpx.Client, emulator: EmulatorHandle) -> None:
    body = {
        "allOrNone": True,
        "compositeRequest": [
            sub("a", "POST", "/sobjects/Account/", {"Name": "A"}),
            sub("bad", "POST", "/sobjects/Contact/", {"FirstName": "no last name"}),
            sub("c", "POST", "/sobjects/Account/", {"Name": "C"}),
        ],
    }
    results = client.post("/composite", json=body).json()["compositeResponse"]
    assert [r["httpStatusCode"] for r in results] == [400, 400, 400]
    assert results[1]["body"][0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    for halted in (results[0], results[2]):
        assert halted["body"][0]["errorCode"] == "PROCESSING_HALTED"
    assert emulator.stats()["records"]["Account"] == 0


def test_without_all_or_none_independent_subrequests_continue(
    client: httpx.Client, emulator: EmulatorHandle
) -> None:
    body = {
        "compositeRequest": [
            sub("bad", "POST", "/sobjects/Contact/", {"FirstName": "x"}),
            sub("child", "POST", "/sobjects/Contact/", {"LastName": "y", "AccountId": "@{bad.id}"}),
            sub("ok", "POST", "/sobjects/Account/", {"Name": "ok"}),
            sub("gone", "GET", "/sobjects/Account/001000000000000AAA"),
            sub("bulk", "POST", "/jobs/ingest", {"object": "Account", "operation": "insert"}),
        ]
    }
    results = client.post("/composite", json=body).json()["compositeResponse"]
    assert [r["httpStatusCode"] for r in results] == [400, 400, 201, 404, 400]
    assert results[1]["body"][0]["errorCode"] == "PROCESSING_HALTED"
    assert "bad.id" in results[1]["body"][0]["message"]
    assert emulator.stats()["records"] == {
        "Account": 1,
        "Contact": 0,
        "Lead": 0,
        "PassFort_Application__c": 0,
        "User": 1,  # the seeded built-in user and its org
        "Organization": 1,
    }


def test_malformed_composite_calls(client: httpx.Client) -> None:
    too_many = {"compositeRequest": [sub(f"r{i}", "GET", "/limits") for i in range(26)]}
    assert client.post("/composite", json=too_many).json()[0]["errorCode"] == "LIMIT_EXCEEDED"
    duplicate = {"compositeRequest": [sub("r", "GET", "/limits"), sub("r", "GET", "/limits")]}
    assert client.post("/composite", json=duplicate).json()[0]["errorCode"] == "INVALID_INPUT"
    assert client.post("/composite", json={"compositeRequest": []}).status_code == 400
    outside = {"compositeRequest": [{"referenceId": "r", "method": "GET", "url": "/_emulator/stats"}]}
    assert client.post("/composite", json=outside).status_code == 400


def test_collections_inside_a_rolled_back_composite(client: httpx.Client, emulator: EmulatorHandle) -> None:
    records = [{"attributes": {"type": "Account"}, "Name": n} for n in ("A", "B")]
    body = {
        "allOrNone": True,
        "compositeRequest": [
            sub("many", "POST", "/composite/sobjects", {"allOrNone": False, "records": records}),
            sub("edit", "PATCH", "/sobjects/Account/@{many[0].id}", {"Name": "A2"}),
            sub("bad", "PATCH", "/sobjects/Account/@{many[1].id}", {"Name": None}),
        ],
    }
    results = client.post("/composite", json=body).json()["compositeResponse"]
    assert [r["httpStatusCode"] for r in results] == [400, 400, 400]
    assert results[2]["body"][0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert emulator.stats()["records"]["Account"] == 0
    assert emulator.stats()["writes"] == 0


def test_composite_rolls_back_when_a_subrequest_raises(
    client: httpx.Client, emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    fail_validation_of("boom", monkeypatch)
    body = {
        "compositeRequest": [
            sub("a", "POST", "/sobjects/Account", {"Name": "A"}),
            sub("b", "POST", "/composite/sobjects", {"records": records({"Name": "B"}, {"Name": "boom"})}),
        ],
    }
    response = client.post("/composite", json=body)
    assert response.status_code == 500
    assert emulator.stats()["records"]["Account"] == 0


def test_more_than_five_queries_or_collections_are_refused_whole(
    client: httpx.Client, emulator: EmulatorHandle
) -> None:
    query = {"method": "GET", "url": "/services/data/v59.0/query/?q=SELECT+Id+FROM+Account"}
    collection = {
        "method": "POST",
        "url": "/services/data/v59.0/composite/sobjects",
        "body": {"records": [{"attributes": {"type": "Account"}, "Name": "X"}]},
    }
    five = [{**query, "referenceId": f"q{i}"} for i in range(3)] + [
        {**collection, "referenceId": f"c{i}"} for i in range(2)
    ]
    lighter = {"method": "GET", "url": "/services/data/v59.0/sobjects/Account/describe", "referenceId": "d"}
    answer = client.post("/composite", json={"compositeRequest": [*five, lighter]})
    assert answer.status_code == 200
    assert [entry["httpStatusCode"] for entry in answer.json()["compositeResponse"]] == [200] * 5 + [200]
    six = [*five, {**query, "referenceId": "q9"}]
    refused = client.post("/composite", json={"compositeRequest": six})
    assert refused.status_code == 400
    assert refused.json()[0]["errorCode"] == "LIMIT_EXCEEDED"
    assert len(emulator.records("Account")) == 2, "nothing of the refused call ran"
