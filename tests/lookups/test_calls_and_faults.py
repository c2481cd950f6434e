"""One Salesforce call per lookup after warm-up, the TTL cache, and Salesforce's faults."""

from __future__ import annotations

import logging

import pytest

from fieldline.adapters.salesforce.emulator.org import FieldDef
from tests.lookups.conftest import Service
from tests.salesforce.source_fixtures import seed_accounts


def test_one_query_per_lookup_after_warm_up(service: Service) -> None:
    seed_accounts(service.emulator, [{"Name": f"N{i}", "AccountNumber": f"A{i}"} for i in range(20)])
    assert service.get("/lookup/account/A0").status_code == 200  # warm-up: login and describe
    service.emulator.reset_stats()
    for i in range(20):
        assert service.get(f"/lookup/account/A{i}").json()["fields"]["name"] == f"N{i}"
    for i in range(5):
        assert service.get(f"/lookup/account/missing-{i}").status_code == 404
    stats = service.emulator.stats()
    assert stats["total"] == 25
    assert set(stats["by_kind"]) == {"query"}


def test_the_cache_answers_within_its_ttl_then_asks_again(service: Service) -> None:
    seed_accounts(service.emulator, [{"Name": "Cached", "AccountNumber": "C1"}])
    first = service.get("/lookup/cached/C1")
    assert first.headers["cache-control"] == "private, max-age=30"
    service.emulator.reset_stats()
    service.clock.now += 10
    again = service.get("/lookup/cached/C1")
    assert again.json() == first.json()
    assert again.headers["cache-control"] == "private, max-age=20"
    assert service.emulator.stats()["total"] == 0
    service.clock.now += 21
    assert service.get("/lookup/cached/C1").status_code == 200
    assert service.emulator.stats()["total"] == 1


def test_salesforce_unavailable_is_503_with_retry_after_and_recorded(service: Service) -> None:
    seed_accounts(service.emulator, [{"Name": "Up", "AccountNumber": "U1"}])
    assert service.get("/lookup/account/U1").status_code == 200
    service.emulator.set_faults(unavailable_next=1, retry_after=7)
    down = service.get("/lookup/account/U1")
    assert down.status_code == 503
    assert down.headers["retry-after"] == "7"
    assert "retry later" in down.json()["error"]
    assert service.get("/lookup/account/U1").status_code == 200  # it recovered
    status = service.directory.status_json()["lookups"]["account"]
    assert status["last_hour"] == {"succeeded": 2, "failed": 1}
    assert "SERVER_UNAVAILABLE" in status["last_error"]
    assert status["last_failure"] is not None
    assert status["last_success"] >= status["last_failure"]
    assert service.directory.status_json()["specs"]["crm-view"]["last_hour"]["failed"] == 1


def test_an_expired_session_is_refreshed_without_failing_the_caller(service: Service) -> None:
    seed_accounts(service.emulator, [{"Name": "Session", "AccountNumber": "S1"}])
    assert service.get("/lookup/account/S1").status_code == 200
    service.emulator.set_faults(expire_sessions=True)
    assert service.get("/lookup/account/S1").json()["fields"]["name"] == "Session"
    assert service.directory.status_json()["lookups"]["account"]["last_hour"]["failed"] == 0


def test_the_daily_limit_is_503_with_a_long_retry_after(service: Service) -> None:
    assert service.get("/lookup/account/none").status_code == 404
    service.emulator.set_faults(daily_limit=0)
    limited = service.get("/lookup/account/none")
    assert limited.status_code == 503
    assert int(limited.headers["retry-after"]) >= 60
    assert "API limit" in limited.json()["error"]
    assert (
        "API request limit is exceeded" in service.directory.status_json()["lookups"]["account"]["last_error"]
    )


def test_a_field_removed_after_describe_refreshes_describe_once(service: Service) -> None:
    seed_accounts(service.emulator, [{"Name": "Acme", "AccountNumber": "R1", "Industry": "Banking"}])
    assert service.get("/lookup/account/R1").json()["fields"]["industry"] == "finance"
    account = service.emulator.store.org.objects["account"]
    fields = dict(account.fields)
    removed: FieldDef = fields.pop("industry")
    object.__setattr__(account, "fields", fields)
    try:
        answer = service.get("/lookup/account/R1")
    finally:
        fields["industry"] = removed
    assert answer.status_code == 200, answer.text
    assert answer.json()["fields"]["industry"] is None
    kinds = service.emulator.stats()["by_kind"]
    assert kinds.get("describe", 0) >= 2  # cached once at warm-up, refreshed once


def test_no_value_or_crm_data_in_any_log_line(service: Service, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    seed_accounts(service.emulator, [{"Name": "Secret Corp", "AccountNumber": "PRIVATE-42"}])
    service.get("/lookup/account/PRIVATE-42")
    service.emulator.set_faults(unavailable_next=1)
    service.get("/lookup/account/PRIVATE-42")
    service.get("/lookup/account/PRIVATE-43")
    assert caplog.records, "the lookups log their outcomes"
    # httpx/httpcore are this test's own client; every other logger is the service's
    for record in (r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))):
        text = record.getMessage()
        assert "PRIVATE-4" not in text
        assert "Secret Corp" not in text
    status = str(service.directory.status_json())
    assert "PRIVATE-4" not in status


def test_salesforce_refusing_the_query_is_502_with_retry_after_and_recorded(service: Service) -> None:
    """The index field gone from the org: the query fails again after describe is refreshed;
    Salesforce refuses, so the caller hears 502 (not a 404 that would claim no such account)."""
    seed_accounts(service.emulator, [{"Name": "Acme", "AccountNumber": "G1"}])
    assert service.get("/lookup/account/G1").status_code == 200
    account = service.emulator.store.org.objects["account"]
    fields = dict(account.fields)
    removed: FieldDef = fields.pop("accountnumber")
    object.__setattr__(account, "fields", fields)
    try:
        refused = service.get("/lookup/account/G1")
    finally:
        fields["accountnumber"] = removed
        object.__setattr__(account, "fields", fields)
    assert refused.status_code == 502, refused.text
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.headers["cache-control"] == "no-store"
    assert "refused the lookup" in refused.json()["error"]
    status = service.directory.status_json()["lookups"]["account"]
    assert status["last_hour"] == {"succeeded": 1, "failed": 1}
    assert "AccountNumber" in status["last_error"]
