"""``fieldline console`` as a user runs it: a process over an existing storage."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import httpx
import pytest

from fieldline.queue.storage import open_storage
from fieldline.testing.queue_suite import event
from tests.e2e.test_cli import free_port
from tests.e2e.test_crash import FIELDLINE
from tests.waiting import PATIENCE, wait_until

pytestmark = pytest.mark.timeout(120)

TOKEN = "console-command-operator-token-0123"


def test_a_missing_database_is_a_clear_error(tmp_path: Path) -> None:
    result = subprocess.run(
        [FIELDLINE, "console", "--db", str(tmp_path / "nope.db")], capture_output=True, text=True, check=False
    )
    assert result.returncode == 2
    assert "no queue database" in result.stderr
    assert "Traceback" not in result.stderr


def test_console_process_serves_the_storage_behind_the_token(tmp_path: Path) -> None:
    db = tmp_path / "fieldline.db"
    storage = open_storage(f"sqlite:///{db}")
    storage.queue.enqueue([event("evt-1", "profile-1")], source="passfort")
    [job] = storage.queue.claim("w1")
    storage.queue.fail(job, "Salesforce said no", permanent=True)
    storage.close()

    port = free_port()
    log = tmp_path / "console.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [FIELDLINE, "console", "--db", str(db), "--port", str(port), "--log-level", "warning"],
            stdout=output,
            stderr=subprocess.STDOUT,
            env={**os.environ, "FIELDLINE_OPERATOR_TOKEN": TOKEN},
        )
    base = f"http://127.0.0.1:{port}"
    try:

        def listening() -> bool:
            try:
                return httpx.get(f"{base}/ui/login", timeout=2).status_code == 200
            except httpx.TransportError:
                return False

        wait_until(listening, timeout=PATIENCE, poll=0.1, what="the console listening")
        with httpx.Client(base_url=base, timeout=10) as client:
            home = client.get("/")
            assert (home.status_code, home.headers["location"]) == (303, "/ui/")
            assert client.get("/ui/dead-letters").status_code == 303, "sign-in first"
            assert client.get("/ui/", headers={"host": "evil.test"}).status_code == 400
            client.post("/ui/login", data={"token": TOKEN, "next": "/ui/dead-letters"})
            page = client.get("/ui/dead-letters")
            assert page.status_code == 200
            assert "Salesforce said no" in page.text
            assert "evt-1" in page.text
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=PATIENCE) == 0
    text = log.read_text()
    assert "Traceback" not in text
    assert TOKEN not in text
