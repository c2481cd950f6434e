"""App events end to end over real HTTP, into two emulated orgs (one per tenant): each tenant's
events land only in its org, one org's outage leaves the other flowing, events of one lead
apply in order, and a duplicate is acknowledged once."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from fieldline.adapters.salesforce.emulator import EmulatorHandle, org_connection, running_orgs
from fieldline.plugins.manager import get_plugin_manager
from fieldline.service.context import ServiceContext, open_context
from fieldline.service.worker import WorkerSettings
from fieldline.spec.loader import load_spec
from fieldline.testing.server import serve_in_thread
from tests.appevents.support import bearer, event, lead, token, write_spec
from tests.e2e.harness import environment
from tests.waiting import wait_until


@dataclass
class Tenants:
    orgs: dict[str, EmulatorHandle]
    context: ServiceContext
    http: httpx.Client
    spec: Path
    db: Path

    def send(self, sub: str, *events: dict[str, Any]) -> httpx.Response:
        content = json.dumps(list(events) if len(events) > 1 else events[0]).encode()
        return self.http.post("/webhooks/appevents", content=content, headers=bearer(token(sub)))

    def leads(self, sub: str) -> dict[str, dict[str, Any]]:
        return {record["Email"]: record for record in self.orgs[sub].records("Lead")}

    def wait_idle(self) -> None:
        wait_until(lambda: not self.context.queue.status().waiting, what="an idle queue")


@pytest.fixture
def tenants(tmp_path: Path) -> Iterator[Tenants]:
    with ExitStack() as stack:
        orgs = stack.enter_context(running_orgs(["user-a", "user-b"]))
        connections: dict[str, Any] = {}
        env: dict[str, str] = {}
        for sub, handle in orgs.items():
            connections[sub], secrets = org_connection(handle, env_prefix=sub.upper().replace("-", "_"))
            env.update(secrets)
        stack.enter_context(environment(env))
        spec_file = write_spec(tmp_path / "spec", connections=connections, target_options={"max_retries": 0})
        manager = get_plugin_manager()
        context = open_context(
            load_spec(spec_file, plugin_manager=manager),
            f"sqlite:///{tmp_path / 'q.db'}?max_attempts=50&backoff_base=0.05&backoff_max=0.2",
            plugin_manager=manager,
            worker_settings=WorkerSettings(poll_interval=0.05, budget_pause=0.3),
        )
        stack.callback(context.close)
        url = stack.enter_context(serve_in_thread(context.create_app(workers=2)))
        http = stack.enter_context(httpx.Client(base_url=url, timeout=10))
        yield Tenants(orgs=orgs, context=context, http=http, spec=spec_file, db=tmp_path / "q.db")


def test_each_tenants_events_land_only_in_its_own_org(tenants: Tenants) -> None:
    assert (
        tenants.send("user-a", event(payload=lead("ann@a.example", company="Acme", source="web"))).status_code
        == 200
    )
    assert tenants.send("user-b", event(payload=lead("bob@b.example"))).status_code == 200
    tenants.wait_idle()
    a, b = tenants.leads("user-a"), tenants.leads("user-b")
    assert set(a) == {"ann@a.example"}
    assert set(b) == {"bob@b.example"}
    assert a["ann@a.example"]["Company"] == "Acme"
    assert a["ann@a.example"]["LeadSource"] == "Web"
    assert b["bob@b.example"]["Company"] == "[not provided]"  # the declared default, not a refusal
    assert b["bob@b.example"]["Status"] == "Open - Not Contacted"  # Salesforce's default picklist value


def test_one_orgs_outage_leaves_the_other_flowing(tenants: Tenants) -> None:
    tenants.orgs["user-b"].set_faults(unavailable_next=1_000_000)
    assert tenants.send("user-b", event(payload=lead("bea@b.example"))).status_code == 200
    for number in range(5):
        assert tenants.send("user-a", event(payload=lead(f"a{number}@a.example"))).status_code == 200
    wait_until(lambda: len(tenants.leads("user-a")) == 5, what="user-a's leads while user-b's org is down")
    # user-a's jobs settle (their Leads may be written a moment before); user-b's waits, retried
    wait_until(lambda: tenants.context.queue.status().waiting == 1, what="only user-b's event waiting")
    assert tenants.leads("user-b") == {}
    failures = tenants.context.queue.status().recent_failures
    assert failures
    assert {failure.lock_key for failure in failures} == {"user-b/bea@b.example"}  # user-a never failed
    tenants.orgs["user-b"].set_faults(unavailable_next=0)
    tenants.wait_idle()
    assert set(tenants.leads("user-b")) == {"bea@b.example"}


def test_events_of_one_lead_apply_in_order_and_duplicates_are_acknowledged_once(tenants: Tenants) -> None:
    created = event(payload=lead("cy@a.example", title="t0"), id="evt-created")
    assert tenants.send("user-a", created).json()["queued"] == 1
    for number in range(1, 8):
        update = event(
            name="Lead Updated", payload={"email": "CY@a.example", "title": f"t{number}"}, id=f"u{number}"
        )
        assert tenants.send("user-a", update).status_code == 200
    again = tenants.send("user-a", created)
    assert again.json() == {"accepted": 1, "queued": 0, "duplicates": 1, "ignored": 0}
    tenants.wait_idle()
    leads = tenants.orgs["user-a"].records("Lead")
    assert len(leads) == 1
    assert leads[0]["Title"] == "t7"
    assert leads[0]["LastName"] == "Lovelace"  # an update without a name leaves it alone


def test_a_refused_write_is_a_dead_letter_replayed_against_its_tenants_org(tenants: Tenants) -> None:
    from click.testing import CliRunner

    from fieldline.cli import cli

    # an update for a lead user-b's org does not have: creating it needs a LastName (required)
    orphan = event(name="Lead Updated", payload={"email": "new@b.example", "title": "CEO"})
    assert tenants.send("user-b", orphan).status_code == 200
    wait_until(lambda: tenants.context.queue.status().dead_letters == 1, what="a dead letter")
    [letter] = tenants.context.queue.dead_letters()
    assert letter.tenant == "user-b"
    assert "LastName" in letter.error
    planned = CliRunner().invoke(
        cli, ["replay", "--db", str(tenants.db), "--all", "--dry-run", "--spec", str(tenants.spec)]
    )
    assert planned.exit_code == 0, planned.output
    assert "replay plan: app-events-salesforce" in planned.output
    assert "new@b.example" in planned.output
