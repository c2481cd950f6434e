"""App events: acceptance rate and ack latency with JWT verification and schema validation,
beside PassFort's in the same run, and event -> Lead latency.

- ``appevents_accept_per_s`` / ``appevents_ack_p99_ms``: `fieldline serve --workers 0` as its
  own process serving the PassFort and the app events specs together (embedded SQLite queue,
  ``synchronous=full``); 2 concurrent senders post one "Lead Created" per request, each with
  its RS256 token (an application reuses a token until it expires); a request counts once the
  200 says it was committed. Every request is verified (signature or the verified-token cache,
  expiry, tenant) and validated against the event's compiled schema.
- ``appevents_accept_fresh_tokens_per_s``: the same with a new token on every request (an RSA
  verification each time).
- ``appevents_passfort_accept_per_s`` / ``appevents_passfort_ack_p99_ms``: PassFort envelopes
  (shared secret, no schema) to the same process right after: the ratio is what JWT +
  validation cost.
- ``appevents_e2e_p50_ms``: an app event posted until its Lead is in the emulated org (ack,
  claim, lookup, write, settle), one at a time, workers in the service process.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import statistics
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from benchmarks.bench_service import FIELDLINE, SENDERS, _envelope, _free_port, _wait_healthy
from tests.appevents.support import bearer, lead, token, write_spec
from tests.e2e.harness import SECRET, SPEC_FILE

REQUESTS_PER_SENDER = 1500
TENANTS = 20


def _event_body(number: int) -> bytes:
    return json.dumps(
        {"name": "Lead Created", "id": str(uuid.uuid4()), "payload": lead(f"lead-{number}@example.com")}
    ).encode()


def _send(
    port: int, path: str, bodies: list[list[bytes]], headers: Callable[[int, int], dict[str, str]]
) -> tuple[float, float]:
    """(accepted events/s, p99 ack ms) with one sender thread per list of bodies."""
    latencies: list[list[float]] = [[] for _ in bodies]
    accepted = [0] * len(bodies)

    def sender(index: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            for number, body in enumerate(bodies[index]):
                started = time.perf_counter()
                connection.request("POST", path, body=body, headers=headers(index, number))
                response = connection.getresponse()
                payload = response.read()
                latencies[index].append(time.perf_counter() - started)
                if response.status == 200:
                    accepted[index] += json.loads(payload)["queued"]
        finally:
            connection.close()

    threads = [threading.Thread(target=sender, args=(index,)) for index in range(len(bodies))]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    every = sorted(latency for per_sender in latencies for latency in per_sender)
    return sum(accepted) / elapsed, every[min(len(every) - 1, int(len(every) * 0.99))] * 1000


def _accept(directory: Path) -> dict[str, float]:
    # receive only (no workers): the tenants need a connection, never a working one
    nowhere = {"emulator_url": "http://127.0.0.1:9", "auth": "password"}
    tenants = {f"user-{n}": nowhere for n in range(TENANTS)}
    spec = write_spec(directory / "spec", connections=tenants)
    port = _free_port()
    server = subprocess.Popen(
        [
            FIELDLINE,
            "serve",
            "--spec",
            str(spec),
            "--spec",
            str(SPEC_FILE),
            "--db",
            f"sqlite:///{directory}/accept.db?synchronous=full",
            "--port",
            str(port),
            "--workers",
            "0",
            "--log-level",
            "warning",
        ],
        env={**os.environ, "FIELDLINE_PASSFORT_WEBHOOK_SECRET": SECRET},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    json_type = {"Content-Type": "application/json"}
    reused = [{**json_type, **bearer(token(f"user-{index}"))} for index in range(SENDERS)]
    fresh = [
        [{**json_type, **bearer(token(f"user-{index}", jti=str(n)))} for n in range(REQUESTS_PER_SENDER)]
        for index in range(SENDERS)
    ]
    passfort = {**json_type, "Authorization": f"Bearer {SECRET}"}

    def bodies(count: int, offset: int) -> list[list[bytes]]:
        return [[_event_body(offset + index * count + n) for n in range(count)] for index in range(SENDERS)]

    try:
        _wait_healthy(f"http://127.0.0.1:{port}", server)
        _send(port, "/webhooks/appevents", bodies(50, 0), lambda i, n: reused[i])  # warm up
        rate, p99 = _send(
            port, "/webhooks/appevents", bodies(REQUESTS_PER_SENDER, 10_000), lambda i, n: reused[i]
        )
        fresh_rate, fresh_p99 = _send(
            port, "/webhooks/appevents", bodies(REQUESTS_PER_SENDER, 20_000), lambda i, n: fresh[i][n]
        )
        pf_bodies = [[_envelope(n) for n in range(REQUESTS_PER_SENDER)] for _ in range(SENDERS)]
        pf_rate, pf_p99 = _send(port, "/webhooks/passfort", pf_bodies, lambda i, n: passfort)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    return {
        "appevents_accept_per_s": round(rate, 1),
        "appevents_ack_p99_ms": round(p99, 2),
        "appevents_accept_fresh_tokens_per_s": round(fresh_rate, 1),
        "appevents_ack_fresh_tokens_p99_ms": round(fresh_p99, 2),
        "appevents_passfort_accept_per_s": round(pf_rate, 1),
        "appevents_passfort_ack_p99_ms": round(pf_p99, 2),
    }


def _e2e(directory: Path, samples: int = 60) -> dict[str, float]:
    from contextlib import ExitStack

    import httpx

    from fieldline.adapters.salesforce.emulator import org_connection, running_orgs
    from fieldline.plugins.manager import get_plugin_manager
    from fieldline.queue import JobState
    from fieldline.service.context import open_context
    from fieldline.service.worker import WorkerSettings
    from fieldline.spec.loader import load_spec
    from fieldline.testing.server import serve_in_thread
    from tests.e2e.harness import environment

    latencies: list[float] = []
    with ExitStack() as stack:
        orgs = stack.enter_context(running_orgs(["user-a"]))
        entry, secrets = org_connection(orgs["user-a"], env_prefix="BENCH_USER_A")
        stack.enter_context(environment(secrets))
        spec = write_spec(directory / "spec", connections={"user-a": entry})
        manager = get_plugin_manager()
        context = open_context(
            load_spec(spec, plugin_manager=manager),
            f"sqlite:///{directory / 'e2e.db'}",
            plugin_manager=manager,
            worker_settings=WorkerSettings(poll_interval=0.05),
        )
        stack.callback(context.close)
        url = stack.enter_context(serve_in_thread(context.create_app(workers=2)))
        http = stack.enter_context(httpx.Client(base_url=url, timeout=10))
        headers = bearer(token("user-a"))
        for number in range(samples + 5):
            done_before = context.queue.status().counts.get(JobState.DONE, 0)
            started = time.perf_counter()
            answer = http.post("/webhooks/appevents", content=_event_body(number), headers=headers)
            answer.raise_for_status()
            while context.queue.status().counts.get(JobState.DONE, 0) <= done_before:
                time.sleep(0.001)
            if number >= 5:  # the first few warm up the login, describe and connections
                latencies.append((time.perf_counter() - started) * 1000)
        leads = len(orgs["user-a"].records("Lead"))
        if leads != samples + 5:
            raise RuntimeError(f"expected {samples + 5} Leads in the org, found {leads}")
    return {"appevents_e2e_p50_ms": round(statistics.median(latencies), 2)}


def run() -> dict[str, float]:
    """Every figure of the module (about half a minute on 2 cores)."""
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as folder:
        directory = Path(folder)
        results.update(_accept(directory / "accept"))
        results.update(_e2e(directory / "e2e"))
    return results


if __name__ == "__main__":
    for name, value in run().items():
        print(name, value)
