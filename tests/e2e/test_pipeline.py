"""End to end over real HTTP: PassFort emulator -> webhook -> queue -> worker -> PassFort API ->
Salesforce emulator, with the shipped spec and org file."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from fieldline.queue import JobState
from tests.e2e.harness import SECRET, Stack, running_stack

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    with running_stack(tmp_path) as running:
        yield running


def application_ids(stack: Stack) -> list[tuple[str, str]]:
    """(profile id, application id) for every seeded application."""
    pairs: list[tuple[str, str]] = []
    for profile_id in stack.pf.profile_ids():
        profile = stack.pf.profile(profile_id)
        assert profile is not None
        pairs.extend((profile_id, application["id"]) for application in profile["applications"])
    return pairs


def envelope(
    event_id: str, profile_id: str, application_id: str, timestamp: int, **extra: Any
) -> dict[str, Any]:
    return {
        "id": event_id,
        "event": "PRODUCT_STATUS_CHANGED",
        "secret": SECRET,
        "timestamp": timestamp,
        "data": {"profile_id": profile_id, "application_id": application_id, "customer_ref": None, **extra},
    }


def post(stack: Stack, payload: Any, *, secret: str = SECRET, raw: bytes | None = None) -> httpx.Response:
    content = raw if raw is not None else json.dumps(payload).encode()
    headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}
    return httpx.post(stack.webhook_url, content=content, headers=headers, timeout=10)


def assert_salesforce_matches_passfort(stack: Stack) -> None:
    expected: dict[str, tuple[str, str | None]] = {}
    for profile_id in stack.pf.profile_ids():
        profile = stack.pf.profile(profile_id)
        assert profile is not None
        for application in profile["applications"]:
            expected[application["id"]] = (application["status"], application.get("flag"))
    labels = {"APPLIED": "Applied", "IN_REVIEW": "In review", "APPROVED": "Approved", "REJECTED": "Rejected"}
    labels["CANCELLED"] = "Cancelled"
    applications = stack.applications()
    for application_id, record in applications.items():
        status, flag = expected[application_id]
        assert record["Status__c"] == labels[status], application_id
        assert record.get("Flag__c") == flag, application_id
    records = stack.records("PassFort_Application__c")
    assert len(records) == len(applications), "one Salesforce record per application, never two"


def test_status_changes_apply_in_order_per_profile(stack: Stack) -> None:
    [(profile_id, application_id), *_] = application_ids(stack)
    emitted: set[str] = set()
    for status in ("IN_REVIEW", "APPROVED", "IN_REVIEW", "CANCELLED"):
        emitted.update(envelope["id"] for envelope in stack.pf.set_status(application_id, status))
    emitted.update(envelope["id"] for envelope in stack.pf.set_flag(application_id, "MANUAL_REVIEW"))
    stack.wait_idle()
    record = stack.applications()[application_id]
    assert (record["Status__c"], record["Flag__c"]) == ("Cancelled", "MANUAL_REVIEW")
    assert stack.counts() == {JobState.DONE: 5 + 1}  # and the echo of the customer_ref written back
    [account] = [a for a in stack.records("Account") if a.get("PassFort_Profile_Id__c") == profile_id]
    assert record["Applicant__c"] == account["Id"]
    assert stack.context.store.applied_versions("passfort", [f"profile:{profile_id}"]) != {}
    # The run log shows the profile's jobs applied in arrival order, each exactly once (the echo of
    # the write-back is synced with them when it arrives among them, so it is left out here).
    entries = sorted(stack.context.store.entries(entity=profile_id, limit=100), key=lambda entry: entry.id)
    applied_jobs = [
        job
        for entry in entries
        if entry.record == "application"
        for job, event_id in zip(entry.job_ids, entry.event_ids, strict=True)
        if event_id in emitted
    ]
    assert applied_jobs == sorted(applied_jobs)
    assert len(applied_jobs) == 5


def test_many_events_are_batched_into_few_salesforce_calls(tmp_path: Path) -> None:
    with running_stack(tmp_path, batch=True, workers=1) as stack:
        stack.pf.configure_delivery(paused=True)
        pairs = application_ids(stack)
        events = 0
        for status in ("IN_REVIEW", "APPROVED", "REJECTED"):
            for _, application_id in pairs:
                events += len(stack.pf.set_status(application_id, status))  # none when unchanged
        assert events > 30
        stack.sf.reset_stats()
        stack.pf.configure_delivery(paused=False)
        stack.wait_idle()
        # and one echo per profile: the webhook its customer_ref write-back caused
        assert stack.counts() == {JobState.DONE: events + len(stack.pf.profile_ids())}
        assert_salesforce_matches_passfort(stack)
        api_calls = stack.sf.stats()["api_usage"]
        assert api_calls < events / 2, f"{api_calls} Salesforce calls for {events} events: not batched"


def test_duplicate_deliveries_are_applied_once(stack: Stack) -> None:
    profile_id, application_id = application_ids(stack)[0]
    stack.pf.configure_delivery(paused=True)
    stack.pf.set_status(application_id, "APPROVED")
    body = envelope("dup-1", profile_id, application_id, int(time.time()), new_status="APPROVED")
    first, second = post(stack, body), post(stack, [body, body])
    assert first.json()["queued"] == 1
    assert second.json() == {"accepted": 2, "queued": 0, "duplicates": 2, "ignored": 0}
    stack.pf.configure_delivery(paused=False)
    stack.wait_idle()
    assert len(stack.records("PassFort_Application__c")) == 1
    assert stack.applications()[application_id]["Status__c"] == "Approved"


def test_wrong_secret_and_malformed_payloads_are_refused(stack: Stack) -> None:
    profile_id, application_id = application_ids(stack)[0]
    body = envelope("e-wrong", profile_id, application_id, 1)
    assert post(stack, body, secret="not-the-secret").status_code == 401
    body["secret"] = "not-the-secret"
    assert post(stack, body, secret="not-the-secret").status_code == 401
    assert post(stack, None, raw=b'{"id": "x", "event": ').status_code == 400
    missing_profile = {
        "id": "e-x",
        "event": "PRODUCT_STATUS_CHANGED",
        "secret": SECRET,
        "timestamp": 1,
        "data": {},
    }
    refused = post(stack, missing_profile)
    assert refused.status_code == 400
    assert "profile_id" in refused.json()["error"]
    assert stack.counts() == {}


def test_events_the_spec_does_not_enable_are_recorded_not_synced(stack: Stack) -> None:
    profile_id, _ = application_ids(stack)[0]
    stack.pf.emit("RISK_LEVEL_CHANGED", profile_id, {"new_risk_level": "HIGH"})
    stack.wait_idle()
    assert stack.counts() == {JobState.IGNORED: 1}
    assert stack.records("Account") == []


def test_out_of_order_delivery_never_regresses_a_record(stack: Stack) -> None:
    profile_id, application_id = application_ids(stack)[0]
    stack.pf.configure_delivery(paused=True)  # only our hand-made deliveries
    stack.pf.set_status(application_id, "APPROVED")
    now = int(time.time())
    assert post(stack, envelope("newer", profile_id, application_id, now + 10)).status_code == 200
    stack.wait_idle_queue()
    writes_before = stack.sf.stats()["writes"]
    assert post(stack, envelope("older", profile_id, application_id, now - 600)).status_code == 200
    stack.wait_idle_queue()
    assert stack.sf.stats()["writes"] == writes_before, "a stale event writes nothing"
    assert stack.applications()[application_id]["Status__c"] == "Approved"
    stale = [entry for entry in stack.context.store.entries(entity=profile_id) if entry.action == "stale"]
    assert [entry.event_ids for entry in stale] == [("older",)]


def test_passfort_api_faults_are_retried_until_applied(stack: Stack) -> None:
    stack.pf.set_faults(error_rate=0.5, error_status=503, seed=7)
    pairs = application_ids_without_faults(stack)
    for _, application_id in pairs:
        stack.pf.set_status(application_id, "APPROVED")
    stack.wait_idle(timeout=60)
    stack.pf.set_faults(reset=True)
    assert stack.counts().get(JobState.DEAD, 0) == 0
    assert_salesforce_matches_passfort(stack)


def test_salesforce_faults_are_retried_without_duplicates(tmp_path: Path) -> None:
    with running_stack(tmp_path, workers=1, sf_settings={"lock_error_rate": 0.1, "seed": 3}) as stack:
        # More 503s in a row than the adapter's own attempts (5): the queue's retry takes over.
        stack.sf.set_faults(unavailable_next=7, retry_after=0)
        for _, application_id in application_ids(stack):
            stack.pf.set_status(application_id, "IN_REVIEW")
        stack.wait_idle(timeout=60)
        assert stack.counts().get(JobState.DEAD, 0) == 0
        assert stack.context.queue.status().recent_failures, "the faults did reach the worker"
        assert_salesforce_matches_passfort(stack)
        ids = [account["PassFort_Profile_Id__c"] for account in stack.records("Account")]
        assert len(ids) == len(set(ids)), "one Account per profile"


def application_ids_without_faults(stack: Stack) -> list[tuple[str, str]]:
    stack.pf.set_faults(error_rate=0.0)
    pairs = application_ids(stack)
    stack.pf.set_faults(error_rate=0.5, error_status=503, seed=7)
    return pairs
