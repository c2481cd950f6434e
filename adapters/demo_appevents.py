"""The app events part of ``fieldline demo``: two app users (tenants), each with its own emulated
Salesforce org, send "Lead Created"/"Lead Updated" events to the same ``fieldline serve`` as the
PassFort pair; one of the events is invalid and gets its 422. Prints each tenant's Leads and
checks that each tenant's events landed in its own org only."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.markup import escape
from rich.table import Table

REPO_ROOT = Path(__file__).resolve().parent.parent
SPEC_FILE = REPO_ROOT / "mappings" / "app-events-salesforce.yaml"
TENANTS = ("acme-user", "globex-user")

# What each tenant's application user does: (event, payload); the last of globex is invalid.
EVENTS: dict[str, list[tuple[str, dict[str, Any]]]] = {
    "acme-user": [
        (
            "Lead Created",
            {"email": "ada@acme.example", "last_name": "Lovelace", "company": "Acme", "source": "web"},
        ),
        ("Lead Created", {"email": "alan@acme.example", "last_name": "Turing", "source": "partner"}),
        ("Lead Updated", {"email": "Ada@Acme.example", "title": "CTO"}),
    ],
    "globex-user": [
        ("Lead Created", {"email": "grace@globex.example", "last_name": "Hopper", "company": "Globex"}),
        ("Lead Created", {"email": "not-an-address", "first_name": "Nobody", "source": "tv"}),
    ],
}


@dataclass
class AppEventsDemo:
    spec: Path
    env: dict[str, str]
    orgs: dict[str, Any]
    private_key: str
    problems: list[str] = field(default_factory=list)

    def send(self, client: httpx.Client, console: Console) -> None:
        """Send every tenant's events, one request each, and show the refused one's answer."""
        from fieldline.adapters.appevents.cli import sign_token

        for tenant, events in EVENTS.items():
            headers = {"Authorization": f"Bearer {sign_token(self.private_key, sub=tenant, ttl=600)}"}
            for name, payload in events:
                answer = client.post(
                    "/webhooks/appevents", json={"name": name, "payload": payload}, headers=headers
                )
                if answer.status_code == 422:
                    console.print(f"[yellow]{tenant}: {name} refused (422)[/yellow]")
                    console.print_json(json.dumps(answer.json()))
                elif answer.status_code != 200:
                    self.problems.append(f"{tenant}: {name} answered {answer.status_code}: {answer.text}")
        stranger = {"Authorization": f"Bearer {sign_token(self.private_key, sub='stranger', ttl=600)}"}
        refused = client.post(
            "/webhooks/appevents", json={"name": "Lead Created", "payload": {}}, headers=stranger
        )
        console.print(f"a tenant without a connection: {refused.status_code} {refused.json()['error']}")
        if refused.status_code != 403:
            self.problems.append(f"an unknown tenant got {refused.status_code}, not 403")

    def report(self, console: Console) -> list[str]:
        """Each tenant's Leads, and what is wrong with them (empty: all right)."""
        expected = {
            "acme-user": {"ada@acme.example": "CTO", "alan@acme.example": None},
            "globex-user": {"grace@globex.example": None},
        }
        for tenant in TENANTS:
            leads = self.orgs[tenant].records("Lead")
            table = Table(title=f"{tenant}'s Salesforce: Leads")
            for column in ("Id", "Email", "LastName", "Company", "LeadSource", "Title", "Status"):
                table.add_column(column)
            for record in sorted(leads, key=lambda item: str(item.get("Email"))):
                table.add_row(
                    *(
                        escape(str(record.get(column) or ""))
                        for column in ("Id", "Email", "LastName", "Company", "LeadSource", "Title", "Status")
                    )
                )
            console.print(table)
            found = {record["Email"]: record.get("Title") for record in leads}
            if found != expected[tenant]:
                self.problems.append(f"{tenant}'s org holds {found}, expected {expected[tenant]}")
        return self.problems


@contextmanager
def app_events_demo(workdir: Path) -> Iterator[AppEventsDemo]:
    """Two emulated orgs, a copy of the shipped spec with a fresh key pair and a connections
    file naming both orgs (secrets by environment reference), until the block ends."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from fieldline.adapters.salesforce.emulator import org_connection, running_orgs

    folder = workdir / "app-events"
    shutil.copytree(SPEC_FILE.parent / "app-events", folder / "app-events")
    shutil.copy(SPEC_FILE, folder / SPEC_FILE.name)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    (folder / "app-events" / "app-public.pem").write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    with ExitStack() as stack:
        orgs = stack.enter_context(running_orgs(TENANTS))
        tenants: dict[str, Any] = {}
        env: dict[str, str] = {}
        for tenant, handle in orgs.items():
            tenants[tenant], secrets = org_connection(handle, env_prefix=tenant.upper().replace("-", "_"))
            env.update(secrets)
        (folder / "app-events" / "connections.yaml").write_text(
            json.dumps(
                {"tenants": {tenant: {"salesforce": settings} for tenant, settings in tenants.items()}},
                indent=2,
            )
        )
        yield AppEventsDemo(spec=folder / SPEC_FILE.name, env=env, orgs=orgs, private_key=private)
