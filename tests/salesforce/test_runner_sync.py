"""The engine's runner driving the Salesforce adapter: first sync, then an unchanged re-sync."""

from __future__ import annotations

from typing import Any

from benchmarks.bench_salesforce import SPEC_FILE, _preexisting, _profiles, _settings
from fieldline.adapters.salesforce.emulator.server import EmulatorHandle
from fieldline.adapters.salesforce.target import SalesforceTarget
from fieldline.spec.loader import load_spec
from fieldline.sync.runner import Runner


def _sync(handle: EmulatorHandle, documents: list[Any], plugin_manager: Any) -> tuple[Any, dict[str, Any]]:
    target = SalesforceTarget({}, settings=_settings(handle))
    handle.reset_stats()
    try:
        report = Runner(load_spec(SPEC_FILE), target, plugin_manager=plugin_manager, batch_size=100).sync(
            documents
        )
    finally:
        target.close()
    return report, handle.stats()


def test_first_sync_then_unchanged_resync_writes_nothing(
    emulator: EmulatorHandle, plugin_manager: Any
) -> None:
    documents = _profiles()[:60]
    seed = SalesforceTarget({}, settings=_settings(emulator))
    try:
        _preexisting(seed, documents)
    finally:
        seed.close()
    report, stats = _sync(emulator, documents, plugin_manager)
    assert report.ok, report.failures[:3]
    assert report.counts["create"] == 30 + 120
    assert report.counts["update"] == 30
    assert stats["records"]["Account"] == 60
    assert stats["records"]["PassFort_Application__c"] == 120
    accounts = {record["PassFort_Profile_Id__c"]: record for record in emulator.records("Account")}
    owner = {app["id"]: doc.key for doc in documents for app in doc.data["applications"]}
    for application in emulator.records("PassFort_Application__c"):
        account = accounts[owner[application["Application_ID__c"]]]
        assert application["Applicant__c"] == account["Id"]
    assert accounts[documents[0].key]["Name"].startswith("Existing")  # if_empty kept the CRM's name
    assert accounts[documents[0].key]["BillingCountry"] == "GBR"
    again, stats = _sync(emulator, documents, plugin_manager)
    assert again.ok
    assert stats["writes"] == 0
    assert again.counts["noop"] == 180
    assert stats["api_usage"] <= 2 + 2  # two describes and one lookup per object
