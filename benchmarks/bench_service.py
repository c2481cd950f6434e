"""The webhook service: acceptance rate and ack latency, end-to-end latency, crash safety.

- ``webhook_accept_per_s`` / ``webhook_ack_p99_ms``: `fieldline serve --workers 0` as its own
  process; 2 concurrent senders post one PassFort envelope per request (PassFort's unbatched
  mode); an event counts once the 200 says it was committed.
  Measured with the default ``synchronous=full`` (an fsync per group commit: survives power
  loss) and again with ``synchronous=normal`` (``..._sync_normal_...``: survives a crashed process).
- ``webhook_accept_batched_per_s``: the same with PassFort's batching (100 envelopes a request).
- ``e2e_event_to_salesforce_p50_ms`` / ``_p99_ms``: a status change in the PassFort emulator until
  the job is settled after writing to the Salesforce emulator (delivery, ack, fetch, sync).
- ``kill9_lost_events`` / ``kill9_duplicate_records``: 5,000 events applied by `fieldline worker`
  processes, 5 of them killed with SIGKILL mid-run; both must be 0.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx

from fieldline.adapters.passfort.events import COLLECTED_DATA_EVENTS
from fieldline.queue import JobState
from tests.e2e.harness import SECRET, SPEC_FILE, Stack, running_stack

FIELDLINE = str(Path(sys.executable).with_name("fieldline"))
SENDERS = 2
REQUESTS_PER_SENDER = 1500
KILL9_EVENTS = 5000
KILLS = 5


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_healthy(base: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError("fieldline serve exited during start-up")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.05)
    raise RuntimeError("fieldline serve did not become healthy")


def _envelope(profile: int, events: int = 1) -> bytes:
    items = [
        {
            "id": str(uuid.uuid4()),
            "event": "PRODUCT_STATUS_CHANGED",
            "secret": SECRET,
            "timestamp": int(time.time()),
            "data": {
                "profile_id": f"profile-{profile % 50}",
                "application_id": "a",
                "new_status": "APPROVED",
            },
        }
        for _ in range(events)
    ]
    return json.dumps(items[0] if events == 1 else items).encode()


def _send(base: str, requests: int, per_request: int) -> tuple[float, float, int]:
    """Returns (events/s, p99 ack ms, events accepted) with SENDERS concurrent senders."""
    latencies: list[list[float]] = [[] for _ in range(SENDERS)]
    accepted = [0] * SENDERS
    headers = {"Authorization": f"Bearer {SECRET}", "Content-Type": "application/json"}
    bodies = [[_envelope(i, per_request) for i in range(requests)] for _ in range(SENDERS)]

    host, port = base.removeprefix("http://").split(":")

    def sender(index: int) -> None:
        # The stdlib client on a kept-alive connection: the senders stand for PassFort, so they
        # should cost the shared CPU as little as possible (httpx takes ~0.6 ms a request).
        connection = http.client.HTTPConnection(host, int(port), timeout=30)
        try:
            for body in bodies[index]:
                started = time.perf_counter()
                connection.request("POST", "/webhooks/passfort", body=body, headers=headers)
                response = connection.getresponse()
                payload = response.read()
                latencies[index].append(time.perf_counter() - started)
                if response.status == 200:
                    accepted[index] += json.loads(payload)["queued"]
        finally:
            connection.close()

    threads = [threading.Thread(target=sender, args=(index,)) for index in range(SENDERS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    every = sorted(latency for per_sender in latencies for latency in per_sender)
    p99 = every[min(len(every) - 1, int(len(every) * 0.99))] * 1000
    return sum(accepted) / elapsed, p99, sum(accepted)


def _accept(
    directory: Path, *, synchronous: str = "full", suffix: str = "", batched: bool = True
) -> dict[str, float]:
    """``synchronous=full`` (the default) fsyncs every group commit; ``normal`` survives a killed
    process but may lose the last commits on power loss (see docs/operations.md)."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "FIELDLINE_PASSFORT_WEBHOOK_SECRET": SECRET}  # receive-only: no API key
    server = subprocess.Popen(
        [
            FIELDLINE,
            "serve",
            "--spec",
            str(SPEC_FILE),
            "--db",
            f"sqlite:///{directory}/accept-{synchronous}.db?synchronous={synchronous}",
            "--port",
            str(port),
            "--workers",
            "0",
            "--log-level",
            "warning",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_healthy(base, server)
        _send(base, 50, 1)  # warm up connections and SQLite
        single_rate, single_p99, _ = _send(base, REQUESTS_PER_SENDER, 1)
        if not batched:
            return {
                f"webhook_accept{suffix}_per_s": round(single_rate, 1),
                f"webhook_ack{suffix}_p99_ms": round(single_p99, 2),
            }
        batched_rate, batched_p99, _ = _send(base, 60, 100)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    return {
        f"webhook_accept{suffix}_per_s": round(single_rate, 1),
        f"webhook_ack{suffix}_p99_ms": round(single_p99, 2),
        f"webhook_accept_batched{suffix}_per_s": round(batched_rate, 1),
        f"webhook_ack_batched{suffix}_p99_ms": round(batched_p99, 2),
    }


def _applications(stack: Stack) -> list[str]:
    ids: list[str] = []
    for profile_id in stack.pf.profile_ids():
        profile = stack.pf.profile(profile_id)
        if profile is not None:
            ids.extend(application["id"] for application in profile["applications"])
    return ids


def _e2e(directory: Path, samples: int = 80) -> dict[str, float]:
    latencies: list[float] = []
    with running_stack(directory) as stack:
        applications = _applications(stack)
        statuses = ("IN_REVIEW", "APPROVED")
        for index in range(samples + 5):
            application_id = applications[index % len(applications)]
            done_before = stack.counts().get(JobState.DONE, 0)
            started = time.perf_counter()
            emitted = stack.pf.set_status(application_id, statuses[(index // len(applications)) % 2])
            if not emitted:
                continue
            while stack.counts().get(JobState.DONE, 0) <= done_before:
                time.sleep(0.001)
            if index >= 5:  # the first few warm up connections, describes and OAuth
                latencies.append((time.perf_counter() - started) * 1000)
    latencies.sort()
    return {
        "e2e_event_to_salesforce_p50_ms": round(statistics.median(latencies), 2),
        "e2e_event_to_salesforce_p99_ms": round(
            latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))], 2
        ),
    }


def _start_worker(stack: Stack, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as output:
        return subprocess.Popen(
            [
                FIELDLINE,
                "worker",
                "--spec",
                str(SPEC_FILE),
                "--db",
                str(stack.db),
                "--batch-size",
                "50",
                "--lease-seconds",
                "1",
                "--poll-interval",
                "0.05",
                "--log-level",
                "warning",
                "--exit-when-empty",
            ],
            stdout=output,
            stderr=subprocess.STDOUT,
        )


def _kill9(directory: Path) -> dict[str, float]:
    with running_stack(directory, workers=0, batch=True) as stack:
        stack.pf.configure_delivery(paused=True)
        applications = _applications(stack)
        statuses = ("IN_REVIEW", "APPROVED", "REJECTED", "CANCELLED")
        emitted = 0
        index = 0
        while emitted < KILL9_EVENTS:
            application_id = applications[index % len(applications)]
            emitted += len(stack.pf.set_status(application_id, statuses[(index // len(applications)) % 4]))
            index += 1
        stack.pf.configure_delivery(paused=False)
        stack.pf.wait_delivered(timeout=120)
        log = directory / "workers.log"
        for _ in range(KILLS):
            done_before = stack.counts().get(JobState.DONE, 0)
            worker = _start_worker(stack, log)
            deadline = time.monotonic() + 20
            # Kill it while it holds a batch, once it has settled at least one.
            while time.monotonic() < deadline:
                counts = stack.counts()
                if counts.get(JobState.DONE, 0) > done_before and counts.get(JobState.DOING, 0):
                    break
                time.sleep(0.002)
            worker.kill()
            worker.wait()
        survivor = _start_worker(stack, log)
        survivor.wait(timeout=150)
        counts = stack.counts()
        with sqlite3.connect(stack.db) as connection:
            taken_back = connection.execute(
                "SELECT COUNT(*) FROM fieldline_failures WHERE error LIKE 'lease expired%'"
            ).fetchone()[0]
            # The emitted status/flag events only: the collected-data webhooks our own
            # write-backs cause are jobs too (completed without a Salesforce call).
            placeholders = ", ".join("?" * len(COLLECTED_DATA_EVENTS))
            jobs, done = connection.execute(
                "SELECT COUNT(*), COALESCE(SUM(status = 'done'), 0) FROM fieldline_jobs"
                f" WHERE event_type NOT IN ({placeholders})",
                sorted(COLLECTED_DATA_EVENTS),
            ).fetchone()
        connection.close()
        lost = (emitted - jobs) + (jobs - done)
        accounts = [record["PassFort_Profile_Id__c"] for record in stack.records("Account")]
        apps = [record["Application_ID__c"] for record in stack.records("PassFort_Application__c")]
        duplicates = (len(accounts) - len(set(accounts))) + (len(apps) - len(set(apps)))
        # Applied once in effect: Salesforce ends where PassFort is.
        mismatched = 0
        by_id = {record["Application_ID__c"]: record for record in stack.records("PassFort_Application__c")}
        for profile_id in stack.pf.profile_ids():
            profile = stack.pf.profile(profile_id) or {"applications": []}
            for application in profile["applications"]:
                record = by_id.get(application["id"])
                if record is None or record["Status__c"].upper().replace(" ", "_") != application["status"]:
                    mismatched += 1
    return {
        "kill9_events": float(emitted),
        "kill9_lost_events": float(lost),
        "kill9_duplicate_records": float(duplicates),
        "kill9_final_state_mismatches": float(mismatched),
        "kill9_jobs_taken_back_from_killed_workers": float(taken_back),
    }


def run() -> dict[str, float]:
    """Every figure of the module (about a minute and a half on 2 cores)."""
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as folder:
        directory = Path(folder)
        results.update(_accept(directory))
        results.update(_accept(directory, synchronous="normal", suffix="_sync_normal"))
        (directory / "e2e").mkdir()
        results.update(_e2e(directory / "e2e"))
        (directory / "kill9").mkdir()
        results.update(_kill9(directory / "kill9"))
    return results


if __name__ == "__main__":
    for name, value in run().items():
        print(name, value)
