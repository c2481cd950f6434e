"""The commands as a user runs them: ``fieldline serve`` as a process, ``replay`` after an outage."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from fieldline.cli import cli
from fieldline.queue import JobState
from tests.e2e.harness import SPEC_FILE, running_emulators, running_stack
from tests.e2e.test_crash import FIELDLINE
from tests.e2e.test_pipeline import application_ids
from tests.waiting import PATIENCE, wait_until

pytestmark = pytest.mark.timeout(120)

OPERATOR_TOKEN = "e2e-operator-token-0123456789"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_serve_process_receives_applies_and_stops_on_sigterm(tmp_path: Path) -> None:
    with running_emulators() as emulators:
        port = free_port()
        log = tmp_path / "serve.log"
        with log.open("wb") as output:
            server = subprocess.Popen(
                [
                    FIELDLINE,
                    "serve",
                    "--spec",
                    str(SPEC_FILE),
                    "--db",
                    str(tmp_path / "f.db"),
                    "--port",
                    str(port),
                    "--workers",
                    "1",
                    "--log-level",
                    "warning",
                ],
                stdout=output,
                stderr=subprocess.STDOUT,
                env={**os.environ, "FIELDLINE_OPERATOR_TOKEN": OPERATOR_TOKEN},
            )
        base = f"http://127.0.0.1:{port}"
        try:

            def healthy() -> bool:
                try:
                    return httpx.get(f"{base}/healthz", timeout=1).status_code == 200
                except httpx.TransportError:
                    assert server.poll() is None, log.read_text()
                    return False

            wait_until(healthy, what="the service answering /healthz")
            emulators.pf.configure_delivery(deliver_to=f"{base}/webhooks/passfort")
            profile_id = emulators.pf.profile_ids()[0]
            profile = emulators.pf.profile(profile_id)
            assert profile is not None
            application_id = profile["applications"][0]["id"]
            emulators.pf.set_status(application_id, "APPROVED")
            emulators.pf.wait_delivered(timeout=PATIENCE)

            def applied() -> bool:
                records = emulators.sf.records("PassFort_Application__c")
                return any(
                    r["Application_ID__c"] == application_id and r["Status__c"] == "Approved" for r in records
                )

            wait_until(applied, what="the status change in Salesforce")
            assert httpx.get(f"{base}/status", timeout=5).status_code == 401, "the token is required"
            operator = {"authorization": f"Bearer {OPERATOR_TOKEN}"}

            def settled() -> dict[str, Any]:
                answer: dict[str, Any] = httpx.get(f"{base}/status", headers=operator, timeout=5).json()
                return answer

            # the status change, and the echo of the customer_ref written back to the profile
            wait_until(lambda: settled()["counts"]["done"] == 2, what="both events done")
            ref = (emulators.pf.profile(profile_id) or {})["collected_data"]["customer_ref"]
            assert ref in {record["Id"] for record in emulators.sf.records("Account")}
            server.send_signal(signal.SIGTERM)
            assert server.wait(timeout=30) == 0, log.read_text()
        finally:
            server.kill()
            server.wait()
        assert "Traceback" not in log.read_text()
        assert "e2e-webhook-secret" not in log.read_text()
        assert OPERATOR_TOKEN not in log.read_text()


def test_dead_letters_replayed_after_an_outage(tmp_path: Path) -> None:
    with running_stack(tmp_path, max_attempts=2) as stack:
        stack.sf.set_faults(unavailable_next=1000, retry_after=0)
        [(_, application_id), *_] = application_ids(stack)
        stack.pf.set_status(application_id, "APPROVED")
        stack.wait_idle(timeout=60)
        assert stack.counts() == {JobState.DEAD: 1}
        stack.sf.set_faults(unavailable_next=0)

        runner = CliRunner()
        env = {"COLUMNS": "200"}
        dry = runner.invoke(
            cli, ["replay", "--db", str(stack.db), "--all", "--dry-run", "--spec", str(SPEC_FILE)], env=env
        )
        assert dry.exit_code == 0, dry.output
        assert "replay plan: passfort-salesforce" in dry.output
        assert "Approved" in dry.output
        assert "nothing changed" in dry.output
        assert stack.counts() == {JobState.DEAD: 1}
        assert stack.records("PassFort_Application__c") == []

        replayed = runner.invoke(
            cli, ["replay", "--db", str(stack.db), "--all", "--spec", str(SPEC_FILE)], env=env
        )
        assert replayed.exit_code == 0, replayed.output
        assert "Requeued 1" in replayed.output
        # the replayed job, and the echo of the customer_ref it wrote back
        wait_until(lambda: stack.counts() == {JobState.DONE: 2}, what="the replayed job done")
        assert stack.applications()[application_id]["Status__c"] == "Approved"
        logs = runner.invoke(cli, ["logs", "--db", str(stack.db), "--json"], env=env)
        actions = {json.loads(line)["action"] for line in logs.output.splitlines()}
        assert {"dead", "create"} <= actions, "the outage and the replayed write are both in the run log"


def test_serve_on_a_taken_port_is_a_clear_error_before_anything_starts(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = subprocess.run(
            [
                FIELDLINE,
                "serve",
                "--spec",
                str(SPEC_FILE),
                "--db",
                str(tmp_path / "f.db"),
                "--port",
                str(port),
            ],
            env={**os.environ, "FIELDLINE_PASSFORT_WEBHOOK_SECRET": "s", "FIELDLINE_PASSFORT_API_KEY": "k"},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 2, result.stderr
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert not (tmp_path / "f.db").exists(), "nothing is opened before the port is ours"
