"""Bulk API 2.0 ingest, through simple-salesforce's ``bulk2`` and raw HTTP."""

from __future__ import annotations

import asyncio
import csv
import io
from typing import Any

import httpx
import pytest

from fieldline.adapters.salesforce.emulator import bulk, bulk_query
from fieldline.adapters.salesforce.emulator.server import EmulatorHandle, EmulatorSettings, create_app
from tests.salesforce_emulator.conftest import start
from tests.waiting import wait_until


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_insert_update_upsert_delete_via_bulk2(sf: Any, emulator: EmulatorHandle) -> None:
    data = [{"Name": f"N{i}", "PassFort_Profile_Id__c": f"p{i}"} for i in range(500)]
    data.append({"Name": "", "PassFort_Profile_Id__c": "no-name"})
    (result,) = sf.bulk2.Account.insert(records=data, wait=0.05)
    assert (result["numberRecordsProcessed"], result["numberRecordsFailed"]) == (501, 1)
    failed = rows(sf.bulk2.Account.get_failed_records(result["job_id"]))
    assert failed == [
        {
            "sf__Id": "",
            "sf__Error": "REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --",
            "Name": "",
            "PassFort_Profile_Id__c": "no-name",
        }
    ]  # DictReader: order-free
    succeeded = rows(sf.bulk2.Account.get_successful_records(result["job_id"]))
    assert len(succeeded) == 500
    assert succeeded[0]["sf__Created"] == "true"
    # simple-salesforce orders the CSV columns itself; the results keep the uploaded order after sf__ columns
    assert list(succeeded[0])[:2] == ["sf__Id", "sf__Created"]
    assert set(list(succeeded[0])[2:]) == {"Name", "PassFort_Profile_Id__c"}
    first_id = succeeded[0]["sf__Id"]

    (updated,) = sf.bulk2.Account.update(records=[{"Id": first_id, "Phone": "555"}], wait=0.05)
    assert updated["numberRecordsFailed"] == 0
    assert sf.Account.get(first_id)["Phone"] == "555"

    upsert = [
        {"PassFort_Profile_Id__c": "P1", "Name": "renamed"},
        {"PassFort_Profile_Id__c": "fresh", "Name": "F"},
    ]
    (upserted,) = sf.bulk2.Account.upsert(
        records=upsert, external_id_field="PassFort_Profile_Id__c", wait=0.05
    )
    created = [r["sf__Created"] for r in rows(sf.bulk2.Account.get_successful_records(upserted["job_id"]))]
    assert created == ["false", "true"]
    assert sf.Account.get_by_custom_id("PassFort_Profile_Id__c", "p1")["Name"] == "renamed"

    (deleted,) = sf.bulk2.Account.delete(records=[{"Id": first_id}, {"Id": "001000000000000AAA"}], wait=0.05)
    assert (deleted["numberRecordsProcessed"], deleted["numberRecordsFailed"]) == (2, 1)
    assert emulator.stats()["records"]["Account"] == 500
    kinds = emulator.stats()["by_kind"]
    assert kinds["bulk_create_job"] == 4
    assert kinds["bulk_upload"] == 4
    assert kinds["bulk_close"] == 4


def api(emulator: EmulatorHandle) -> httpx.Client:
    return httpx.Client(
        base_url=f"{emulator.url}/services/data/v59.0/jobs/ingest",
        headers={"Authorization": f"Bearer {emulator.token}"},
    )


def poll_until(client: httpx.Client, job_id: str, states: tuple[str, ...]) -> dict[str, Any]:
    seen: list[dict[str, Any]] = []

    def reached() -> bool:
        seen.append(client.get(f"/{job_id}").json())
        return seen[-1]["state"] in states

    wait_until(reached, what=f"job {job_id} reaching {states}")
    return seen[-1]


def test_job_lifecycle_over_http() -> None:
    with start(bulk_chunk_size=100) as emulator, api(emulator) as client:
        created = client.post(
            "",
            json={
                "object": "account",
                "operation": "insert",
                "lineEnding": "CRLF",
                "columnDelimiter": "PIPE",
            },
        )
        assert created.status_code == 200
        job = created.json()
        assert (job["state"], job["object"], job["contentUrl"]) == (
            "Open",
            "Account",
            f"services/data/v59.0/jobs/ingest/{job['id']}/batches",
        )
        body = "Name|NumberOfEmployees\r\n" + "".join(f"N{i}|{i}\r\n" for i in range(300)) + "bad|many\r\n"
        upload = client.put(f"/{job['id']}/batches", content=body, headers={"Content-Type": "text/csv"})
        assert upload.status_code == 201
        unprocessed = rows(client.get(f"/{job['id']}/unprocessedrecords").text.replace("|", ","))
        assert len(unprocessed) == 301
        closed = client.patch(f"/{job['id']}", json={"state": "UploadComplete"})
        assert closed.json()["state"] == "UploadComplete"
        done = poll_until(client, job["id"], ("JobComplete", "Failed"))
        assert (done["state"], done["numberRecordsProcessed"], done["numberRecordsFailed"]) == (
            "JobComplete",
            301,
            1,
        )
        error = rows(client.get(f"/{job['id']}/failedResults").text)[0]["sf__Error"]
        assert error.startswith("INVALID_TYPE_ON_FIELD_IN_RECORD:")
        assert (
            client.put(
                f"/{job['id']}/batches", content="Name\nx\n", headers={"Content-Type": "text/csv"}
            ).status_code
            == 409
        )
        assert client.delete(f"/{job['id']}").status_code == 204
        assert client.get(f"/{job['id']}").status_code == 404


def test_abort_leaves_rows_unprocessed() -> None:
    # The pause after each chunk outlasts the test, so the job is InProgress after exactly one chunk
    # however slow the machine is.
    with start(bulk_chunk_size=50, bulk_delay_ms=3_600_000) as emulator, api(emulator) as client:
        job = client.post("", json={"object": "Account", "operation": "insert"}).json()
        body = "Name\n" + "".join(f"N{i}\n" for i in range(500))
        client.put(f"/{job['id']}/batches", content=body, headers={"Content-Type": "text/csv"})
        client.patch(f"/{job['id']}", json={"state": "UploadComplete"})
        assert poll_until(client, job["id"], ("InProgress",))["numberRecordsProcessed"] == 50
        assert client.patch(f"/{job['id']}", json={"state": "Aborted"}).json()["state"] == "Aborted"
        info = client.get(f"/{job['id']}").json()
        assert info["state"] == "Aborted"
        assert info["numberRecordsProcessed"] == 50
        unprocessed = rows(client.get(f"/{job['id']}/unprocessedrecords").text)
        assert len(unprocessed) + info["numberRecordsProcessed"] == 500
        assert client.patch(f"/{job['id']}", json={"state": "UploadComplete"}).status_code == 409


def test_processing_stops_at_the_first_pause_after_an_abort(monkeypatch: pytest.MonkeyPatch) -> None:
    emu = create_app(settings=EmulatorSettings(bulk_chunk_size=50, bulk_delay_ms=1)).state.emulator
    table = emu.store.table("Account")
    assert table is not None
    job = bulk.Job("insert", "COMMA", "LF", "59.0", table=table, external_id_field=None)
    job.uploads.append(b"Name\n" + b"".join(f"N{i}\n".encode() for i in range(500)))
    job.set_state("UploadComplete")
    pauses: list[float] = []

    async def pause(seconds: float) -> None:
        # The first pause yields before starting; the abort arrives during the one after chunk 1.
        pauses.append(seconds)
        if len(pauses) == 2:
            job.set_state("Aborted")

    monkeypatch.setattr(asyncio, "sleep", pause)  # the emulator pauses through asyncio.sleep
    asyncio.run(job.run(emu))
    emu.store.close()
    assert (job.state, len(job.successes), job.next_row, len(pauses)) == ("Aborted", 50, 50, 2)


def test_unknown_column_fails_the_job(emulator: EmulatorHandle) -> None:
    with api(emulator) as client:
        job = client.post("", json={"object": "Account", "operation": "insert"}).json()
        client.put(
            f"/{job['id']}/batches", content="Name,Nope__c\na,b\n", headers={"Content-Type": "text/csv"}
        )
        client.patch(f"/{job['id']}", json={"state": "UploadComplete"})
        info = poll_until(client, job["id"], ("Failed", "JobComplete"))
        assert info["state"] == "Failed"
        assert info["errorMessage"] == "InvalidBatch : Field name not found : Nope__c"


def test_lock_errors_are_per_row(emulator: EmulatorHandle, sf: Any) -> None:
    emulator.set_faults(lock_error_rate=1.0)
    (result,) = sf.bulk2.Account.insert(records=[{"Name": "a"}, {"Name": "b"}], wait=0.05)
    assert result["numberRecordsFailed"] == 2
    errors = [r["sf__Error"] for r in rows(sf.bulk2.Account.get_failed_records(result["job_id"]))]
    assert all(e.startswith("UNABLE_TO_LOCK_ROW:unable to obtain exclusive access") for e in errors)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param({"object": "Nope__c", "operation": "insert"}, "Unable to find object", id="object"),
        pytest.param({"object": "Account", "operation": "merge"}, "Invalid operation", id="operation"),
        pytest.param(
            {"object": "Account", "operation": "upsert"}, "External ID was blank", id="no-external-id"
        ),
        pytest.param(
            {"object": "Account", "operation": "upsert", "externalIdFieldName": "Name"},
            "not an external id",
            id="not-external-id",
        ),
        pytest.param(
            {"object": "Account", "operation": "insert", "columnDelimiter": "DASH"}, "delimiter", id="delim"
        ),
    ],
)
def test_create_job_errors(emulator: EmulatorHandle, body: dict[str, Any], message: str) -> None:
    with api(emulator) as client:
        response = client.post("", json=body)
        assert response.status_code == 400
        assert response.json()[0]["errorCode"] == "INVALIDJOB"
        assert message in response.json()[0]["message"]


def test_upload_needs_csv_and_a_known_job(emulator: EmulatorHandle) -> None:
    with api(emulator) as client:
        job = client.post("", json={"object": "Account", "operation": "insert"}).json()
        assert client.put(f"/{job['id']}/batches", json={"a": 1}).status_code == 415
        assert client.get("/750000000000000AAA").status_code == 404
        assert client.patch(f"/{job['id']}", json={"state": "Bogus"}).status_code == 400
        assert client.delete(f"/{job['id']}").status_code == 409
        assert [j["id"] for j in client.get("").json()["records"]] == [job["id"]]


def test_relationship_columns_by_external_id(emulator: EmulatorHandle, sf: Any) -> None:
    sf.Account.upsert("PassFort_Profile_Id__c/p1", {"Name": "A"})
    data = [
        {"Application_ID__c": "x1", "Applicant__r.PassFort_Profile_Id__c": "p1"},
        {"Application_ID__c": "x2", "Applicant__r.PassFort_Profile_Id__c": "nope"},
    ]
    (result,) = sf.bulk2.PassFort_Application__c.upsert(
        records=data, external_id_field="Application_ID__c", wait=0.05
    )
    assert result["numberRecordsFailed"] == 1
    (app,) = emulator.records("PassFort_Application__c")
    assert app["Applicant__c"] == sf.Account.get_by_custom_id("PassFort_Profile_Id__c", "p1")["Id"]
    (failure,) = rows(sf.bulk2.PassFort_Application__c.get_failed_records(result["job_id"]))
    assert failure["sf__Error"].startswith("INVALID_FIELD:Foreign key external ID: nope not found")


def test_one_upload_per_job_and_line_endings_must_match(emulator: EmulatorHandle) -> None:
    with api(emulator) as client:
        job = client.post("", json={"object": "Account", "operation": "insert", "lineEnding": "LF"}).json()
        csv_headers = {"Content-Type": "text/csv"}
        assert (
            client.put(f"/{job['id']}/batches", content="Name\r\na\r\n", headers=csv_headers).status_code
            == 201
        )
        second = client.put(f"/{job['id']}/batches", content="Name\nb\n", headers=csv_headers)
        assert second.status_code == 409
        assert second.json()[0]["errorCode"] == "INVALIDJOBSTATE"
        client.patch(f"/{job['id']}", json={"state": "UploadComplete"})
        info = poll_until(client, job["id"], ("Failed", "JobComplete"))
        assert info["state"] == "Failed"
        assert info["errorMessage"] == (
            "ClientInputError : LineEnding is invalid on user data. Current LineEnding setting is LF"
        )
        assert len(rows(client.get(f"/{job['id']}/unprocessedrecords").text)) == 1


# -- query jobs --------------------------------------------------------------------------------------
def test_bulk2_query_through_simple_salesforce(sf: Any) -> None:
    parent = sf.Account.create({"Name": "Acme, Inc.", "PassFort_Profile_Id__c": "p"})["id"]
    for i in range(5):
        sf.PassFort_Application__c.create({"Name": f"A{i}", "Applicant__c": parent if i % 2 else None})
    soql = "SELECT Id, Name, Applicant__r.Name FROM PassFort_Application__c ORDER BY Name"
    pages = list(sf.bulk2.PassFort_Application__c.query(soql, max_records=2, wait=0.05))
    assert len(pages) == 3
    parsed = [row for page in pages for row in rows(page)]
    assert [r["Name"] for r in parsed] == ["A0", "A1", "A2", "A3", "A4"]
    assert list(parsed[0]) == ["Id", "Name", "Applicant__r.Name"]
    assert [r["Applicant__r.Name"] for r in parsed] == ["", "Acme, Inc.", "", "Acme, Inc.", ""]


def test_query_job_errors(emulator: EmulatorHandle) -> None:
    with httpx.Client(base_url=f"{emulator.url}/services/data/v59.0/jobs/query",
                      headers={"Authorization": f"Bearer {emulator.token}"}) as client:  # fmt: skip
        bad = client.post("", json={"operation": "query", "query": "SELECT Nope FROM Account"})
        assert bad.status_code == 400
        assert bad.json()[0]["errorCode"] == "INVALID_FIELD"
        aggregate = client.post("", json={"operation": "query", "query": "SELECT COUNT() FROM Account"})
        assert aggregate.status_code == 400
        assert (
            client.post("", json={"operation": "merge", "query": "SELECT Id FROM Account"}).status_code == 400
        )
        job = client.post("", json={"operation": "queryAll", "query": "SELECT Id FROM Account"}).json()
        assert job["state"] == "UploadComplete"
        assert poll_until(client, job["id"], ("JobComplete",))["numberRecordsProcessed"] == 0
        results = client.get(f"/{job['id']}/results")
        assert results.headers["sforce-locator"] == "null"
        assert results.headers["sforce-numberofrecords"] == "0"
        assert results.text == "Id\n"
        assert client.get(f"/{job['id']}/results", params={"locator": "x"}).status_code == 400
        assert client.patch(f"/{job['id']}", json={"state": "Aborted"}).status_code == 409
        assert client.delete(f"/{job['id']}").status_code == 204
        assert client.get(f"/{job['id']}").status_code == 404


def test_an_unexpected_error_fails_a_query_job(
    emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    def make_getter(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(bulk_query, "make_getter", make_getter)
    with httpx.Client(base_url=f"{emulator.url}/services/data/v59.0/jobs/query",
                      headers={"Authorization": f"Bearer {emulator.token}"}) as client:  # fmt: skip
        job = client.post("", json={"operation": "query", "query": "SELECT Id FROM Account"}).json()
        info = poll_until(client, job["id"], ("JobComplete", "Failed"))
        assert (info["state"], info["errorMessage"]) == (
            "Failed",
            "UnknownException : An unexpected error occurred: RuntimeError: boom",
        )
        assert client.get(f"/{job['id']}/results").status_code == 409


def run_job(client: httpx.Client, body: str, operation: str = "insert") -> dict[str, Any]:
    """Create an Account job, upload ``body``, close it and wait for a terminal state."""
    job = client.post("", json={"object": "Account", "operation": operation}).json()
    upload = client.put(f"/{job['id']}/batches", content=body, headers={"Content-Type": "text/csv"})
    assert upload.status_code == 201
    client.patch(f"/{job['id']}", json={"state": "UploadComplete"})
    return poll_until(client, job["id"], ("JobComplete", "Failed", "Aborted"))


def test_an_unexpected_error_fails_the_job(emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch) -> None:
    def prepare(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(bulk, "prepare", prepare)
    with api(emulator) as client:
        info = run_job(client, "Name\na\n")
    assert info["state"] == "Failed"
    assert "boom" in info["errorMessage"]


def test_a_cell_over_the_csv_module_limit_is_a_row_error(emulator: EmulatorHandle) -> None:
    with api(emulator) as client:
        info = run_job(client, "Name,Description\n" + "x" * 200_000 + ",d\nok,d\n")
        assert (info["state"], info["numberRecordsProcessed"], info["numberRecordsFailed"]) == (
            "JobComplete",
            2,
            1,
        )
        failed = rows(client.get(f"/{info['id']}/failedResults").text)
    assert failed[0]["sf__Error"].startswith("STRING_TOO_LONG:")
    assert [r["Name"] for r in emulator.records("Account")] == ["ok"]


@pytest.mark.parametrize("body", ['Name\n"unterminated\nb\n', 'Name\n"a"b\n'])
def test_malformed_csv_fails_the_job(emulator: EmulatorHandle, body: str) -> None:
    with api(emulator) as client:
        info = run_job(client, body)
    assert info["state"] == "Failed"
    assert info["errorMessage"].startswith("ClientInputError : Failed to parse CSV")
    assert emulator.records("Account") == []


def test_non_finite_numbers_fail_their_row(emulator: EmulatorHandle) -> None:
    with api(emulator) as client:
        info = run_job(client, "Name,AnnualRevenue\na,NaN\nb,Infinity\nc,1.5\n")
        assert (info["numberRecordsProcessed"], info["numberRecordsFailed"]) == (3, 2)
        failed = rows(client.get(f"/{info['id']}/failedResults").text)
    assert [f["sf__Error"].split(":")[0] for f in failed] == ["INVALID_TYPE_ON_FIELD_IN_RECORD"] * 2
