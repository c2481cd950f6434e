"""A backfill through the real pieces: the shipped spec, the PassFort and Salesforce emulators.

Checks that the sample profiles fit the shipped spec and org, that the factory resolves a
relative ``profile_ids_file`` against the spec's folder, and that a re-run writes nothing.
"""

from __future__ import annotations

from pathlib import Path

import pluggy
import pytest

from fieldline.adapters.passfort.emulator import SEED_FILE, running_passfort_emulator
from fieldline.adapters.passfort.source import PassFortSource
from fieldline.adapters.salesforce.emulator.server import running_emulator
from fieldline.adapters.salesforce.settings import AuthMethod, SalesforceSettings
from fieldline.adapters.salesforce.target import SalesforceTarget
from fieldline.config import Secret
from fieldline.spec.loader import load_spec
from fieldline.sync.adapter_builder import build_source
from fieldline.sync.runner import Runner
from tests.conftest import REPO_ROOT
from tests.passfort.conftest import API_KEY

SHIPPED_SPEC = REPO_ROOT / "mappings" / "passfort-salesforce.yaml"
ORG_FILE = REPO_ROOT / "mappings" / "passfort-salesforce.org.yaml"


def test_seed_profiles_sync_into_salesforce_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, plugin_manager: pluggy.PluginManager
) -> None:
    text = SHIPPED_SPEC.read_text(encoding="utf-8")
    options_line = "  options:\n"
    assert options_line in text
    spec_file = tmp_path / "spec.yaml"
    spec_file.write_text(text.replace(options_line, options_line + "    profile_ids_file: ids.txt\n", 1))
    with (
        running_passfort_emulator(SEED_FILE, api_key=API_KEY) as passfort,
        running_emulator(ORG_FILE) as salesforce,
    ):
        (tmp_path / "ids.txt").write_text("\n".join(passfort.profile_ids()) + "\n")
        monkeypatch.setenv("FIELDLINE_PASSFORT_API_KEY", API_KEY)
        monkeypatch.setenv("FIELDLINE_PASSFORT_BASE_URL", passfort.api_url)
        spec = load_spec(spec_file, plugin_manager=plugin_manager)
        source = build_source(spec, plugin_manager)
        target = SalesforceTarget(
            {},
            settings=SalesforceSettings(
                emulator_url=salesforce.url,
                auth=AuthMethod.TOKEN,
                instance_url=salesforce.url,
                access_token=Secret(salesforce.token),
            ),
        )
        try:
            assert isinstance(source, PassFortSource)
            first = Runner(spec, target, source=source, plugin_manager=plugin_manager).sync(source.read())
            again = Runner(spec, target, source=source, plugin_manager=plugin_manager).sync(source.read())
        finally:
            source.close()
            target.close()
        refs = {
            profile_id: (passfort.profile(profile_id) or {})["collected_data"].get("customer_ref")
            for profile_id in passfort.profile_ids()
        }
        accounts = salesforce.records("Account")
        applications = salesforce.records("PassFort_Application__c")
    assert first.ok, [outcome.error for outcome in first.outcomes if outcome.error]
    assert first.counts["create"] == 8 + 14
    assert again.counts["noop"] == 8 + 14
    assert len(accounts) == 8
    # every profile learns its Account's id, once: the re-run writes nothing back
    assert [result.status.value for result in first.write_backs] == ["written"] * 8
    assert again.write_backs == []
    assert refs == {record["PassFort_Profile_Id__c"]: record["Id"] for record in accounts}
    assert {record["Status__c"] for record in applications} == {
        "Applied",
        "In review",
        "Approved",
        "Rejected",
        "Cancelled",
    }
    by_profile = {record["PassFort_Profile_Id__c"]: record["Id"] for record in accounts}
    forexo_apps = [record for record in applications if record["Product_Alias__c"].startswith("forexo")]
    assert by_profile["b82b0434-f9e8-11e7-8397-000000000002"] in {
        record["Applicant__c"] for record in forexo_apps
    }
