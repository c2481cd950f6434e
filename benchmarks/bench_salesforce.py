"""Salesforce API calls per sync, counted by the emulator (``api_usage``: OAuth not included).

- ``sf_calls_first_sync_per_1000``: 1,000 PassFort-shaped profiles (1 Account + 2 applications
  each; half the Accounts already exist) synced through the runner (batches of 1,000).
  Lookups go five queries, writes five 200-record collections, to a ``POST /composite`` call.
  Target <= 8 (a ``bulk2`` script makes 10 and rewrites everything).
- ``sf_calls_resync_unchanged_per_1000``: the same profiles again from a fresh process-like
  start (new adapter; its describes come from the describe cache the first sync filled, as a
  scheduled re-sync's would); nothing changed, so no writes. Target <= 5.
- ``sf_writes_resync_unchanged``: records written by that re-sync (must be 0).
- ``sf_calls_first_sync_batch500_per_1000``: the first sync with the CLI's default batch size.
- ``sf_calls_bulk_100k``: 100,000 application upserts through Bulk API 2.0 (one object).
  Target <= 10. ``sf_bulk_100k_seconds``: wall time of that apply.
"""

from __future__ import annotations

import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from fieldline.adapters.salesforce.emulator.server import EmulatorHandle, running_emulator
from fieldline.adapters.salesforce.settings import AuthMethod, SalesforceSettings
from fieldline.adapters.salesforce.target import SalesforceTarget
from fieldline.config import Secret
from fieldline.contracts import SourceDocument, Write, WriteOperation
from fieldline.plugins.manager import get_plugin_manager
from fieldline.spec.loader import load_spec
from fieldline.sync.runner import Runner

PROFILES = 1000
BULK_RECORDS = 100_000
ORG_FILE = "mappings/passfort-salesforce.org.yaml"

SPEC_FILE = Path(__file__).with_suffix(".yaml")  # the spec this benchmark syncs


def _settings(handle: EmulatorHandle) -> SalesforceSettings:
    return SalesforceSettings(
        emulator_url=handle.url,
        auth=AuthMethod.PASSWORD,
        username=handle.username,
        password=Secret(handle.password),
        security_token=Secret(handle.security_token),
        client_id=handle.client_id,
        client_secret=Secret(handle.client_secret),
    )


def _profiles() -> list[SourceDocument]:
    documents = []
    for index in range(PROFILES):
        profile_id = str(uuid.UUID(int=index + 1))
        applications = [
            {
                "id": str(uuid.UUID(int=10**9 + index * 2 + offset)),
                "product": {"name": f"Product {offset}", "alias": f"product_{offset}"},
                "status": ("APPLIED", "IN_REVIEW", "APPROVED")[(index + offset) % 3],
                "flag": "AUTOMATING" if offset else None,
            }
            for offset in range(2)
        ]
        data = {
            "id": profile_id,
            "display_name": f"Company {index}",
            "collected_data": {"metadata": {"country_of_incorporation": "GBR"}},
            "applications": applications,
        }
        documents.append(SourceDocument(key=profile_id, data=data))
    return documents


def _preexisting(target: SalesforceTarget, documents: list[SourceDocument]) -> None:
    writes = [
        Write(
            key=document.key,
            object="Account",
            operation=WriteOperation.CREATE,
            fields={"Name": f"Existing {document.key[:8]}", "PassFort_Profile_Id__c": document.key},
        )
        for document in documents[::2]
    ]
    results = target.apply(writes).results
    if not all(result.ok for result in results):
        raise RuntimeError("could not seed the pre-existing Accounts")


def _sync(
    handle: EmulatorHandle, documents: list[SourceDocument], batch_size: int, cache: Path
) -> tuple[int, int, bool]:
    """(API calls, records written, every record ok) for one sync with a fresh adapter whose
    describe cache is ``cache``."""
    spec = load_spec(SPEC_FILE)
    target = SalesforceTarget({}, settings=_settings(handle), cache_dir=cache)
    handle.reset_stats()
    try:
        report = Runner(spec, target, plugin_manager=get_plugin_manager(), batch_size=batch_size).sync(
            documents
        )
    finally:
        target.close()
    stats = handle.stats()
    return int(stats["api_usage"]), int(stats["writes"]), report.ok


def _first_and_resync(batch_size: int) -> tuple[int, int, int, bool]:
    documents = _profiles()
    with running_emulator(ORG_FILE) as handle, tempfile.TemporaryDirectory() as folder:
        seed = SalesforceTarget({}, settings=_settings(handle), cache_dir=Path(folder) / "seed")
        try:
            _preexisting(seed, documents)
        finally:
            seed.close()
        # the first sync describes (an empty cache); the re-sync finds what it kept
        first_calls, _, first_ok = _sync(handle, documents, batch_size, Path(folder) / "runs")
        resync_calls, resync_writes, resync_ok = _sync(handle, documents, batch_size, Path(folder) / "runs")
        applications = len(handle.records("PassFort_Application__c"))
    ok = first_ok and resync_ok and applications == 2 * PROFILES
    return first_calls, resync_calls, resync_writes, ok


def _bulk() -> tuple[int, float, bool]:
    writes = [
        Write(
            key=f"app-{index}",
            object="PassFort_Application__c",
            operation=WriteOperation.UPSERT,
            fields={
                "Application_ID__c": str(uuid.UUID(int=index + 1)),
                "Status__c": "Applied",
                "Product_Name__c": "Business Current Account",
                "Flag__c": None,
            },
            external_id_field="Application_ID__c",
        )
        for index in range(BULK_RECORDS)
    ]
    with running_emulator(ORG_FILE) as handle, tempfile.TemporaryDirectory() as folder:
        target = SalesforceTarget({}, settings=_settings(handle), cache_dir=Path(folder))
        try:
            target.describe("PassFort_Application__c")
            handle.reset_stats()
            started = time.perf_counter()
            results = target.apply(writes).results
            elapsed = time.perf_counter() - started
        finally:
            target.close()
        stats = handle.stats()
    return int(stats["api_usage"]), elapsed, all(result.ok for result in results)


def run() -> dict[str, float]:
    first, resync, resync_writes, ok = _first_and_resync(batch_size=1000)
    first_500, _, _, ok_500 = _first_and_resync(batch_size=500)
    bulk_calls, bulk_seconds, bulk_ok = _bulk()
    figures: dict[str, Any] = {
        "sf_calls_first_sync_per_1000": first,
        "sf_calls_resync_unchanged_per_1000": resync,
        "sf_writes_resync_unchanged": resync_writes,
        "sf_calls_first_sync_batch500_per_1000": first_500,
        "sf_calls_bulk_100k": bulk_calls,
        "sf_bulk_100k_seconds": round(bulk_seconds, 2),
        "sf_bench_all_records_ok": 1 if (ok and ok_500 and bulk_ok) else 0,
    }
    return figures
