"""Fault injection and limits: write errors, lock errors, 503 + Retry-After, expired sessions,
latency, the daily API limit; the control endpoints that set them and count requests."""

from __future__ import annotations

import logging
import time
from typing import Any

import httpx
import pytest
from simple_salesforce.exceptions import (
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceRefusedRequest,
)

from fieldline.adapters.salesforce.emulator.server import EmulatorHandle
from fieldline.errors import ConfigError
from tests.salesforce_emulator.conftest import error_code, fail_validation_of, records


def test_lock_errors_on_single_writes_are_top_level_400(
    client: httpx.Client, emulator: EmulatorHandle
) -> None:
    account_id = client.post("/sobjects/Account/", json={"Name": "A"}).json()["id"]
    emulator.set_faults(lock_error_rate=1.0)
    response = client.patch(f"/sobjects/Account/{account_id}", json={"Name": "B"})
    assert response.status_code == 400
    (error,) = response.json()
    assert error["errorCode"] == "UNABLE_TO_LOCK_ROW"
    assert error["message"] == f"unable to obtain exclusive access to this record or 1 records: {account_id}"
    assert client.post("/sobjects/Account/", json={"Name": "C"}).status_code == 400
    assert client.get(f"/sobjects/Account/{account_id}").json()["Name"] == "A"  # reads are unaffected
    emulator.set_faults(lock_error_rate=0.0)
    assert client.patch(f"/sobjects/Account/{account_id}", json={"Name": "B"}).status_code == 204


def test_lock_errors_are_per_record_in_collections(client: httpx.Client, emulator: EmulatorHandle) -> None:
    emulator.set_faults(lock_error_rate=0.5, seed=7)
    results = client.post(
        "/composite/sobjects", json={"records": records(*({"Name": str(i)} for i in range(100)))}
    ).json()
    failed = [r for r in results if not r["success"]]
    assert 20 < len(failed) < 80
    assert {r["errors"][0]["statusCode"] for r in failed} == {"UNABLE_TO_LOCK_ROW"}
    assert emulator.stats()["records"]["Account"] == 100 - len(failed)


def test_seeded_faults_repeat(client: httpx.Client, emulator: EmulatorHandle) -> None:
    outcomes = []
    for _ in range(2):
        emulator.set_faults(write_error_rate=0.3, seed=42)
        body = {"records": records(*({"Name": str(i)} for i in range(50)))}
        outcomes.append([r["success"] for r in client.post("/composite/sobjects", json=body).json()])
    assert outcomes[0] == outcomes[1]
    assert not all(outcomes[0])


def test_write_errors_on_single_writes_are_500(sf: Any, emulator: EmulatorHandle) -> None:
    emulator.set_faults(write_error_rate=1.0)
    with pytest.raises(SalesforceGeneralError) as info:
        sf.Account.create({"Name": "x"})
    assert info.value.status == 500
    assert error_code(info.value) == "UNKNOWN_EXCEPTION"


def test_unavailable_answers_503_with_retry_after(client: httpx.Client, emulator: EmulatorHandle) -> None:
    httpx.post(
        f"{emulator.url}/_emulator/faults", json={"unavailable_next": 2, "retry_after": 7}
    ).raise_for_status()
    for _ in range(2):
        response = client.get("/sobjects")
        assert response.status_code == 503
        assert response.headers["retry-after"] == "7"
        assert response.json()[0]["errorCode"] == "SERVER_UNAVAILABLE"
    assert client.get("/sobjects").status_code == 200
    assert emulator.stats()["api_usage"] == 1  # refused calls are not counted


def test_expire_sessions(sf: Any, emulator: EmulatorHandle, client: httpx.Client) -> None:
    assert sf.query("SELECT Id FROM Account")["totalSize"] == 0
    httpx.post(f"{emulator.url}/_emulator/faults", json={"expire_sessions": True}).raise_for_status()
    with pytest.raises(SalesforceExpiredSession):
        sf.query("SELECT Id FROM Account")
    assert client.get("/sobjects").status_code == 401
    fresh = emulator.new_token()
    assert client.get("/sobjects", headers={"Authorization": f"Bearer {fresh}"}).status_code == 200


def test_latency(client: httpx.Client, emulator: EmulatorHandle) -> None:
    emulator.set_faults(latency_ms=150)
    started = time.perf_counter()
    client.get("/sobjects")
    assert time.perf_counter() - started >= 0.15


def test_daily_limit(sf: Any, client: httpx.Client, emulator: EmulatorHandle) -> None:
    emulator.set_faults(daily_limit=3)
    for _ in range(3):
        assert client.get("/limits").status_code == 200
    refused = client.get("/limits")
    assert refused.status_code == 403
    assert refused.json() == [
        {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
    ]
    assert refused.headers["sforce-limit-info"] == "api-usage=3/3"
    with pytest.raises(SalesforceRefusedRequest):
        sf.query("SELECT Id FROM Account")
    emulator.reset_stats()
    assert client.get("/limits").json()["DailyApiRequests"] == {"Max": 3, "Remaining": 2}


def test_limit_header_counts_every_call(client: httpx.Client) -> None:
    headers = [client.get("/sobjects").headers["sforce-limit-info"] for _ in range(3)]
    assert headers == ["api-usage=1/1000000", "api-usage=2/1000000", "api-usage=3/1000000"]
    assert client.get("/sobjects/Nope__c/describe").headers["sforce-limit-info"] == "api-usage=4/1000000"


def test_control_endpoints(client: httpx.Client, emulator: EmulatorHandle) -> None:
    client.post("/sobjects/Account/", json={"Name": "A"})
    client.get("/query", params={"q": "SELECT Id FROM Account"})
    stats = httpx.get(f"{emulator.url}/_emulator/stats").json()
    assert stats["total"] == 2
    assert stats["api_usage"] == 2
    assert stats["writes"] == 1
    assert stats["by_kind"] == {"sobject_create": 1, "query": 1}
    assert stats["records"]["Account"] == 1
    assert stats["records"]["PassFort_Application__c"] == 0
    dumped = httpx.get(f"{emulator.url}/_emulator/records/account").json()
    assert [r["Name"] for r in dumped] == ["A"]
    assert httpx.get(f"{emulator.url}/_emulator/records/Nope").status_code == 404
    assert httpx.post(f"{emulator.url}/_emulator/stats/reset").json()["total"] == 0
    assert emulator.stats()["api_usage"] == 0
    bad = httpx.post(f"{emulator.url}/_emulator/faults", json={"lock_error_rate": 2})
    assert bad.status_code == 400
    assert "between 0 and 1" in bad.json()["error"]
    assert httpx.post(f"{emulator.url}/_emulator/faults", json={"nope": 1}).status_code == 400
    assert httpx.post(f"{emulator.url}/_emulator/faults", content=b"[").status_code == 400
    assert httpx.get(f"{emulator.url}/_emulator/faults").json()["daily_limit"] == 1_000_000
    with pytest.raises(ConfigError, match="unknown fault"):
        emulator.set_faults(bogus=1)


def test_an_unexpected_error_is_a_json_500_with_the_limit_header(
    client: httpx.Client, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    fail_validation_of("boom", monkeypatch)
    with caplog.at_level(logging.ERROR):
        response = client.post("/composite/sobjects", json={"records": records({"Name": "boom"})})
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["sforce-limit-info"].startswith("api-usage=")
    (error,) = response.json()
    assert error["errorCode"] == "UNKNOWN_EXCEPTION"
    assert any(r.levelno == logging.ERROR and r.exc_info for r in caplog.records)
    # the connection and the emulator stay usable
    assert client.post("/composite/sobjects", json={"records": records({"Name": "ok"})}).status_code == 200
