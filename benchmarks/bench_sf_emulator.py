"""Salesforce emulator overhead: per-request latency, collections and query throughput, Bulk 2.0 load.

Figures (all over real HTTP on loopback, one client thread):

- ``sf_emulator_get_ms``: mean latency of ``GET /sobjects/Account/{id}``;
- ``sf_emulator_collections_records_per_s``: records created per second through 200-record collections;
- ``sf_emulator_lookup_2000_ms``: 2,000 external ids looked up with ``WHERE ext IN (...)`` queries
  (three URI-sized chunks) among 20,000 Accounts;
- ``sf_emulator_bulk_100k_s``: Bulk 2.0 insert of 100,000 rows, upload to ``JobComplete``;
- ``sf_emulator_bulk_rows_per_s``: the same as a rate.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from fieldline.adapters.salesforce.emulator.server import running_emulator

ORG_FILE = Path(__file__).resolve().parent.parent / "mappings" / "passfort-salesforce.org.yaml"
API = "/services/data/v59.0"


def _collections(client: httpx.Client, total: int) -> float:
    started = time.perf_counter()
    for start in range(0, total, 200):
        batch = [
            {"attributes": {"type": "Account"}, "Name": f"N{i}", "PassFort_Profile_Id__c": f"p{i}"}
            for i in range(start, start + 200)
        ]
        response = client.post("/composite/sobjects", json={"records": batch})
        response.raise_for_status()
    return time.perf_counter() - started


def _bulk(client: httpx.Client, rows: int) -> float:
    body = "Name,PassFort_Profile_Id__c\n" + "".join(f"B{i},b{i}\n" for i in range(rows))
    started = time.perf_counter()
    job = client.post("/jobs/ingest", json={"object": "Account", "operation": "insert"}).json()
    client.put(f"/jobs/ingest/{job['id']}/batches", content=body, headers={"Content-Type": "text/csv"})
    client.patch(f"/jobs/ingest/{job['id']}", json={"state": "UploadComplete"})
    while client.get(f"/jobs/ingest/{job['id']}").json()["state"] not in ("JobComplete", "Failed", "Aborted"):
        time.sleep(0.05)
    return time.perf_counter() - started


def run() -> dict[str, float]:
    """Run the emulator benchmarks; returns ``{name: value}``."""
    with (
        running_emulator(ORG_FILE) as sf,
        httpx.Client(
            base_url=sf.url + API, headers={"Authorization": f"Bearer {sf.token}"}, timeout=120
        ) as client,
    ):
        collections_s = _collections(client, 20_000)
        account_id = client.post("/sobjects/Account/", json={"Name": "probe"}).json()["id"]
        started = time.perf_counter()
        for _ in range(500):
            client.get(f"/sobjects/Account/{account_id}")
        get_ms = (time.perf_counter() - started) / 500 * 1000
        wanted = [f"'p{i}'" for i in range(0, 20_000, 10)]
        started = time.perf_counter()
        rows = 0
        for start in range(0, len(wanted), 800):  # chunks keep each URI under the 16,384 limit
            values = ",".join(wanted[start : start + 800])
            soql = (
                f"SELECT Id, PassFort_Profile_Id__c FROM Account WHERE PassFort_Profile_Id__c IN ({values})"
            )
            rows += client.get("/query", params={"q": soql}).json()["totalSize"]
        query_ms = (time.perf_counter() - started) * 1000
        assert rows == 2000
        bulk_s = _bulk(client, 100_000)
    return {
        "sf_emulator_get_ms": get_ms,
        "sf_emulator_collections_records_per_s": 20_000 / collections_s,
        "sf_emulator_lookup_2000_ms": query_ms,
        "sf_emulator_bulk_100k_s": bulk_s,
        "sf_emulator_bulk_rows_per_s": 100_000 / bulk_s,
    }
