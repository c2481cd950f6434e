"""The shipped pair, completed, over real HTTP: a new profile's Account id lands in its
``customer_ref``; the webhook that write causes changes nothing in Salesforce; ``plan`` shows the
write-back and ``sync`` does it once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from fieldline.cli import cli
from fieldline.queue import JobState
from tests.e2e.harness import SPEC_FILE, Stack, running_emulators, running_stack
from tests.e2e.test_pipeline import post
from tests.plan_lines import read_plan_lines

pytestmark = pytest.mark.timeout(120)

NEW_COMPANY = {
    "role": "COMPANY_CUSTOMER",
    "collected_data": {"entity_type": "COMPANY", "metadata": {"name": "Newco Ltd"}},
}


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    with running_stack(tmp_path) as running:
        yield running


def collected(stack: Stack, profile_id: str) -> dict[str, object]:
    profile = stack.pf.profile(profile_id)
    assert profile is not None
    data: dict[str, object] = profile["collected_data"]
    return data


def test_a_new_profile_learns_its_account_id_and_the_echo_costs_no_salesforce_call(stack: Stack) -> None:
    seeded = stack.pf.profile(stack.pf.profile_ids()[0])
    assert seeded is not None
    product = seeded["applications"][0]["product"]
    profile = stack.pf.add_profile(
        {**NEW_COMPANY, "applications": [{"product": product, "status": "APPLIED"}]}
    )
    profile_id, application_id = profile["id"], profile["applications"][0]["id"]
    stack.pf.configure_delivery(paused=True)  # the echo of our write-back waits until we look
    events = stack.pf.set_status(application_id, "IN_REVIEW")
    assert post(stack, events).status_code == 200
    stack.wait_idle_queue()

    [account] = [
        record for record in stack.records("Account") if record["PassFort_Profile_Id__c"] == profile_id
    ]
    assert collected(stack, profile_id)["customer_ref"] == account["Id"]
    assert collected(stack, profile_id)["metadata"] == {"name": "Newco Ltd"}, "the rest of the data is kept"
    salesforce_calls = stack.sf.stats()["api_usage"]

    stack.pf.configure_delivery(paused=False)
    stack.wait_idle()
    assert stack.counts() == {JobState.DONE: 2}
    assert stack.sf.stats()["api_usage"] == salesforce_calls, "the echo made no Salesforce call"
    actions = [entry.action for entry in stack.context.store.entries(entity=profile_id, limit=50)]
    assert "own_write_back" in actions
    assert "write_back_written" in actions


def test_plan_shows_the_write_back_and_sync_does_it_once(tmp_path: Path) -> None:
    with running_emulators() as emulators:
        ids = tmp_path / "ids.txt"
        ids.write_text("\n".join(emulators.pf.profile_ids()) + "\n")
        spec = tmp_path / "spec.yaml"
        text = SPEC_FILE.read_text(encoding="utf-8")
        spec.write_text(text.replace("  options:\n", f"  options:\n    profile_ids_file: {ids}\n", 1))
        runner = CliRunner()
        env = {"COLUMNS": "200"}

        shown = runner.invoke(cli, ["plan", str(spec)], env=env)
        assert shown.exit_code == 0, shown.output
        assert "write back to the source: customer_ref: (none) → <id of applicant" in shown.output
        planned = read_plan_lines(runner.invoke(cli, ["plan", str(spec), "--json"], env=env).output)
        assert {item["path"] for item in planned["write_back"]} == {"collected_data.customer_ref"}
        assert len(planned["write_back"]) == len(emulators.pf.profile_ids())

        synced = runner.invoke(cli, ["sync", str(spec)], env=env)
        assert synced.exit_code == 0, synced.output
        assert f"write back to the source: {len(emulators.pf.profile_ids())} written" in synced.output
        accounts = {
            record["PassFort_Profile_Id__c"]: record["Id"] for record in emulators.sf.records("Account")
        }
        for profile_id, account_id in accounts.items():
            profile = emulators.pf.profile(profile_id)
            assert profile is not None
            assert profile["collected_data"]["customer_ref"] == account_id

        again = read_plan_lines(runner.invoke(cli, ["plan", str(spec), "--json"], env=env).output)
        assert "write_back" not in again, "nothing left to write back"
        resynced = runner.invoke(cli, ["sync", str(spec)], env=env)
        assert resynced.exit_code == 0, resynced.output
        assert "write back to the source" not in resynced.output
