"""``fieldline demo`` (``make demo``): the PassFort -> Salesforce pair end to end on this machine.

Starts the Salesforce and PassFort emulators and a real ``fieldline serve`` process on free
loopback ports, changes application statuses and flags in PassFort (which sends webhooks), waits
until the queue is empty, prints the Salesforce records and the queue status, checks that every
record is right, and shuts everything down. Exit status 0 only when the records are right.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import click
import httpx
from rich.console import Console
from rich.table import Table

from fieldline.adapters.demo_appevents import app_events_demo
from fieldline.errors import FieldlineError

REPO_ROOT = Path(__file__).resolve().parent.parent
SPEC_FILE = REPO_ROOT / "mappings" / "passfort-salesforce.yaml"
ORG_FILE = REPO_ROOT / "mappings" / "passfort-salesforce.org.yaml"
SECRET = "demo-webhook-secret"
OPERATOR_TOKEN = "demo-operator-token-0123456789"  # a throwaway token for this run only
API_KEY = "demo-api-key"
STATUS_LABELS = {
    "APPLIED": "Applied",
    "IN_REVIEW": "In review",
    "APPROVED": "Approved",
    "REJECTED": "Rejected",
    "CANCELLED": "Cancelled",
}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _fieldline_command() -> list[str]:
    script = Path(sys.executable).parent / "fieldline"
    return [str(script)] if script.exists() else [shutil.which("fieldline") or "fieldline"]


def _wait_until(check: Any, *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise FieldlineError(f"demo: timed out after {timeout:.0f}s waiting for {what}")


def _changes(pf: Any) -> list[str]:
    """Change a few applications in PassFort; each change sends a webhook. Returns the profiles."""
    touched: list[str] = []
    profiles = [pf.profile(profile_id) for profile_id in pf.profile_ids()]
    plan = [
        (0, 0, "status", "IN_REVIEW"),
        (0, 0, "status", "APPROVED"),  # two changes of one application: applied in order
        (1, 1, "flag", "AWAITING_DOCUMENTS"),
        (2, 1, "status", "REJECTED"),
        (3, 2, "flag", None),  # PassFort cleared the flag: the Salesforce field is cleared too
        (4, 0, "status", "APPROVED"),
    ]
    for profile_index, application_index, what, value in plan:
        profile = profiles[profile_index]
        application = profile["applications"][application_index]
        if what == "status":
            pf.set_status(application["id"], value)
        else:
            pf.set_flag(application["id"], value)
        if profile["id"] not in touched:
            touched.append(profile["id"])
    return touched


def _records(sf_url: str, object_name: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{sf_url}/_emulator/records/{object_name}", timeout=10)
    response.raise_for_status()
    records: list[dict[str, Any]] = response.json()
    return records


def _check(
    pf: Any, touched: list[str], accounts: list[dict[str, Any]], apps: list[dict[str, Any]]
) -> list[str]:
    """Every touched profile has exactly one Account and one record per application, right."""
    problems: list[str] = []
    for profile_id in touched:
        profile = pf.profile(profile_id)
        owned = [a for a in accounts if a.get("PassFort_Profile_Id__c") == profile_id]
        if len(owned) != 1:
            problems.append(f"profile {profile_id}: {len(owned)} Accounts (expected 1)")
            continue
        for application in profile["applications"]:
            found = [r for r in apps if r.get("Application_ID__c") == application["id"]]
            if len(found) != 1:
                problems.append(f"application {application['id']}: {len(found)} records (expected 1)")
                continue
            record = found[0]
            expected = {
                "Status__c": STATUS_LABELS[application["status"]],
                "Flag__c": application.get("flag"),
                "Applicant__c": owned[0]["Id"],
                "Product_Name__c": application["product"]["name"],
            }
            for field, value in expected.items():
                if record.get(field) != value:
                    actual = record.get(field)
                    problems.append(
                        f"application {application['id']}: {field} is {actual!r}, expected {value!r}"
                    )
    return problems


def _table(title: str, records: list[dict[str, Any]], fields: list[str]) -> Table:
    table = Table(title=title)
    for field in fields:
        table.add_column(field, overflow="fold")
    for record in records:
        table.add_row(*("" if record.get(f) is None else str(record.get(f)) for f in fields))
    return table


def run(console: Console) -> int:
    from fieldline.adapters.passfort.emulator.handle import SEED_FILE, running_passfort_emulator
    from fieldline.adapters.salesforce.emulator.server import running_emulator

    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="fieldline-demo-")))
        sf = stack.enter_context(running_emulator(ORG_FILE))
        pf = stack.enter_context(
            running_passfort_emulator(seed_file=SEED_FILE, secret=SECRET, api_key=API_KEY)
        )
        console.print(f"[bold]Salesforce emulator[/bold] {sf.url}   [bold]PassFort emulator[/bold] {pf.url}")
        app_events = stack.enter_context(app_events_demo(workdir))
        console.print("[bold]App events[/bold]: two app users, each with its own emulated Salesforce org")

        env: Mapping[str, str] = {
            **os.environ,
            "FIELDLINE_PASSFORT_BASE_URL": pf.api_url,
            "FIELDLINE_PASSFORT_API_KEY": API_KEY,
            "FIELDLINE_PASSFORT_WEBHOOK_SECRET": SECRET,
            "FIELDLINE_SALESFORCE_EMULATOR_URL": sf.url,
            "FIELDLINE_SALESFORCE_AUTH": "password",
            "FIELDLINE_SALESFORCE_USERNAME": sf.username,
            "FIELDLINE_SALESFORCE_PASSWORD": sf.password,
            "FIELDLINE_SALESFORCE_SECURITY_TOKEN": sf.security_token,
            "FIELDLINE_SALESFORCE_CLIENT_ID": sf.client_id,
            "FIELDLINE_SALESFORCE_CLIENT_SECRET": sf.client_secret,
            "FIELDLINE_OPERATOR_TOKEN": OPERATOR_TOKEN,
            **app_events.env,  # the tenants' Salesforce secrets, named by their connections file
        }
        db = workdir / "fieldline.db"
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        log = (workdir / "serve.log").open("w")
        stack.callback(log.close)
        serve = subprocess.Popen(
            [
                *_fieldline_command(),
                "serve",
                "--spec",
                str(SPEC_FILE),
                "--spec",
                str(app_events.spec),
                "--db",
                str(db),
                "--port",
                str(port),
            ],
            env=dict(env),
            stdout=log,
            stderr=subprocess.STDOUT,
        )

        def stop_serve() -> None:
            if serve.poll() is None:
                serve.terminate()
                try:
                    serve.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    serve.kill()
                    serve.wait()

        stack.callback(stop_serve)
        operator = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}  # /status is for operators only
        with httpx.Client(base_url=url, timeout=5, headers=operator) as client:

            def healthy() -> bool:
                if serve.poll() is not None:
                    raise FieldlineError(
                        f"fieldline serve exited early:\n{(workdir / 'serve.log').read_text()}"
                    )
                try:
                    return client.get("/healthz").status_code == 200
                except httpx.TransportError:
                    return False

            _wait_until(healthy, timeout=30, what="fieldline serve to start")
            console.print(f"[bold]fieldline serve[/bold] {url} (queue {db.name})")
            pf.configure_delivery(deliver_to=f"{url}/webhooks/passfort")

            touched = _changes(pf)
            console.print(f"changed {len(touched)} profiles in PassFort; webhooks on their way")
            app_events.send(client, console)
            pf.wait_delivered(timeout=30)

            def queue_empty() -> bool:
                status = client.get("/status").json()
                return bool(status.get("state") == "Empty" or status.get("waiting", 1) == 0)

            _wait_until(queue_empty, timeout=60, what="the queue to empty")
            status_document = client.get("/status").json()

        accounts = _records(sf.url, "Account")
        applications = _records(sf.url, "PassFort_Application__c")
        console.print(_table("Salesforce Accounts", accounts, ["Id", "Name", "PassFort_Profile_Id__c"]))
        console.print(
            _table(
                "Salesforce PassFort_Application__c",
                applications,
                ["Id", "Application_ID__c", "Name", "Status__c", "Flag__c", "Applicant__c"],
            )
        )
        status = subprocess.run(
            [*_fieldline_command(), "status", "--db", str(db)],
            env=dict(env),
            capture_output=True,
            text=True,
            check=False,
        )
        console.print(status.stdout.rstrip() or status_document)
        problems = _check(pf, touched, accounts, applications) + app_events.report(console)
        stop_serve()
    if problems:
        for problem in problems:
            console.print(f"[red]wrong:[/red] {problem}")
        return 1
    console.print(
        f"[green]demo ok:[/green] {len(accounts)} Accounts and {len(applications)} applications are right;"
        " each app user's Leads are in its own org"
    )
    return 0


@click.command()
def demo() -> None:
    """Run the PassFort -> Salesforce pair end to end on this machine.

    Starts both emulators and `fieldline serve` on free loopback ports, sends webhooks, checks
    every Salesforce record and stops everything; exit status 0 only when the records are right.
    """
    main()


def main() -> None:
    console = Console()
    if not console.is_terminal and "COLUMNS" not in os.environ:
        # piped or in CI: rich would assume 80 columns and fold every id; logs have room
        console = Console(width=160)
    try:
        sys.exit(run(console))
    except FieldlineError as exc:
        console.print(f"[red]demo failed:[/red] {exc}")
        sys.exit(1)


if __name__ == "__main__":
    main()
