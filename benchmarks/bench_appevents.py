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
- ``appevents_parse_us`` / ``appevents_passfort_parse_us``: CPU time of ``parse_webhook`` for
  one single-event request, in this process (token from the verified-token cache, schema
  validation, entity key) beside PassFort's (shared secret, envelope checks): the cost of JWT +
  validation without the HTTP server, the commit and the machine's other load.
- ``appevents_e2e_p50_ms``: an app event posted until its Lead is in the emulated org (ack,
  claim, lookup, write, settle), one at a time, workers in the service process.
- ``appevents_apply_per_s``: 10,000 "Lead Created" events of 5 tenants (batches of 100 a
  request) applied into the 5 emulated orgs by 2 in-process workers (batches split by tenant),
  counted from the first request until the queue is empty; every org is checked to hold
  exactly its own 2,000 Leads.
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
from functools import partial
from pathlib import Path
from typing import Any

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


def _pick(headers: list[list[dict[str, str]]], sender: int, number: int) -> dict[str, str]:
    return headers[sender][number]


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

    half = REQUESTS_PER_SENDER // 2

    def pf_bodies(count: int) -> list[list[bytes]]:
        return [[_envelope(n) for n in range(count)] for _ in range(SENDERS)]  # new ids each time

    rates: dict[str, list[tuple[float, float]]] = {"reused": [], "fresh": [], "passfort": []}
    try:
        _wait_healthy(f"http://127.0.0.1:{port}", server)
        _send(port, "/webhooks/appevents", bodies(50, 0), lambda i, n: reused[i])  # warm up
        _send(port, "/webhooks/passfort", pf_bodies(50), lambda i, n: passfort)
        # two rounds, interleaved, so neither source gets the quieter moment of a shared machine
        for round_number in range(2):
            offset = 100_000 * (round_number + 1)
            rates["reused"].append(
                _send(port, "/webhooks/appevents", bodies(half, offset), lambda i, n: reused[i])
            )
            rates["passfort"].append(
                _send(port, "/webhooks/passfort", pf_bodies(half), lambda i, n: passfort)
            )
            tokens = [per_sender[round_number * half :] for per_sender in fresh]
            rates["fresh"].append(
                _send(port, "/webhooks/appevents", bodies(half, offset + 50_000), partial(_pick, tokens))
            )
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    rate, p99 = statistics.mean(r for r, _ in rates["reused"]), max(p for _, p in rates["reused"])
    fresh_rate, fresh_p99 = statistics.mean(r for r, _ in rates["fresh"]), max(p for _, p in rates["fresh"])
    pf_rate, pf_p99 = statistics.mean(r for r, _ in rates["passfort"]), max(p for _, p in rates["passfort"])
    return {
        "appevents_accept_per_s": round(rate, 1),
        "appevents_ack_p99_ms": round(p99, 2),
        "appevents_accept_fresh_tokens_per_s": round(fresh_rate, 1),
        "appevents_ack_fresh_tokens_p99_ms": round(fresh_p99, 2),
        "appevents_passfort_accept_per_s": round(pf_rate, 1),
        "appevents_passfort_ack_p99_ms": round(pf_p99, 2),
    }


def _parse(directory: Path, count: int = 5000) -> dict[str, float]:
    from fieldline.adapters.passfort.settings import PassFortSettings
    from fieldline.adapters.passfort.source import PassFortSource
    from fieldline.config import Secret
    from tests.appevents.support import make_source

    source = make_source(directory, tenants=frozenset({"user-1"}))
    passfort = PassFortSource(PassFortSettings(webhook_secret=Secret(SECRET)))
    headers = bearer(token("user-1"))
    pf_headers = {"authorization": f"Bearer {SECRET}"}
    bodies = [_event_body(n) for n in range(count)]
    pf_bodies = [_envelope(n) for n in range(count)]
    source.parse_webhook(headers, bodies[0])
    started = time.process_time()
    for body in bodies:
        source.parse_webhook(headers, body)
    appevents = (time.process_time() - started) / count * 1e6
    started = time.process_time()
    for body in pf_bodies:
        passfort.parse_webhook(pf_headers, body)
    pf = (time.process_time() - started) / count * 1e6
    return {"appevents_parse_us": round(appevents, 1), "appevents_passfort_parse_us": round(pf, 1)}


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


def _apply(directory: Path, tenants: int = 5, per_tenant: int = 2000) -> dict[str, float]:
    from contextlib import ExitStack

    import httpx

    from fieldline.adapters.salesforce.emulator import org_connection, running_orgs
    from fieldline.plugins.manager import get_plugin_manager
    from fieldline.service.context import open_context
    from fieldline.service.worker import WorkerSettings
    from fieldline.spec.loader import load_spec
    from fieldline.testing.server import serve_in_thread
    from tests.e2e.harness import environment

    names = [f"tenant-{n}" for n in range(tenants)]
    with ExitStack() as stack:
        orgs = stack.enter_context(running_orgs(names))
        connections: dict[str, Any] = {}
        for name, handle in orgs.items():
            connections[name], secrets = org_connection(handle, env_prefix=name.upper().replace("-", "_"))
            stack.enter_context(environment(secrets))
        spec = write_spec(directory / "spec", connections=connections)
        manager = get_plugin_manager()
        context = open_context(
            load_spec(spec, plugin_manager=manager),
            f"sqlite:///{directory / 'apply.db'}",
            plugin_manager=manager,
            worker_settings=WorkerSettings(poll_interval=0.05, batch_size=200),
        )
        stack.callback(context.close)
        url = stack.enter_context(serve_in_thread(context.create_app(workers=2)))
        http = stack.enter_context(httpx.Client(base_url=url, timeout=30))
        requests = [
            (name, [json.loads(_event_body(t * 1_000_000 + start + n)) for n in range(100)])
            for start in range(0, per_tenant, 100)
            for t, name in enumerate(names)
        ]
        tokens = {name: bearer(token(name)) for name in names}
        started = time.perf_counter()
        for name, events in requests:
            http.post("/webhooks/appevents", json=events, headers=tokens[name]).raise_for_status()
        while context.queue.status().waiting:
            time.sleep(0.05)
        elapsed = time.perf_counter() - started
        for t, name in enumerate(names):
            emails = {record["Email"] for record in orgs[name].records("Lead")}
            expected = {f"lead-{t * 1_000_000 + n}@example.com" for n in range(per_tenant)}
            if emails != expected:
                raise RuntimeError(f"{name}'s org holds {len(emails)} Leads, not exactly its {per_tenant}")
    return {"appevents_apply_per_s": round(tenants * per_tenant / elapsed, 1)}


def run() -> dict[str, float]:
    """Every figure of the module (about a minute on 2 cores)."""
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as folder:
        directory = Path(folder)
        results.update(_accept(directory / "accept"))
        results.update(_parse(directory / "parse"))
        results.update(_e2e(directory / "e2e"))
        results.update(_apply(directory / "apply"))
    return results


if __name__ == "__main__":
    for name, value in run().items():
        print(name, value)
