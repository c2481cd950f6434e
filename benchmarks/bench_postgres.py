"""Scale-out on PostgreSQL (a throwaway server from the ``pgserver`` wheel, loopback only).

- ``pg_webhook_accept_per_s``: 2 ``fieldline serve --workers 0`` receivers on one database, one
  sender each posting one PassFort envelope per request; an event counts once its 200 says it
  was committed. Compare with ``webhook_accept_per_s`` (SQLite, one receiver) of bench_service.
- ``pg_events_per_s_workers_1`` / ``_2`` / ``_4``: events applied per second by 1, 2 and 4
  ``fieldline worker`` processes, the Salesforce emulator answering every call after 100 ms
  (real round trips take 100-300 ms: workers wait, they do not compute);
  ``pg_worker_scaling_4_vs_1`` is the ratio (target >= 3).
- ``pg_kill9_lost_events`` / ``pg_kill9_duplicate_records``: 2 receivers and 3 workers, workers
  and receivers killed with SIGKILL and PostgreSQL restarted mid-run (target 0 / 0).
"""

from __future__ import annotations

import http.client
import json
import tempfile
import threading
import time
import uuid
from pathlib import Path

from tests.e2e.harness import SECRET
from tests.e2e.scale_out import Cluster, emit, run_with_kills, running_cluster

REQUESTS_PER_SENDER = 1500
SCALING_EVENTS = 1200
KILL9_EVENTS = 5000
WORKER_ARGS = ("--batch-size", "20", "--lease-seconds", "30", "--poll-interval", "0.05")


def _envelope(index: int) -> bytes:
    return json.dumps(
        {
            "id": str(uuid.uuid4()),
            "event": "PRODUCT_STATUS_CHANGED",
            "secret": SECRET,
            "timestamp": int(time.time()),
            "data": {"profile_id": f"profile-{index % 50}", "application_id": "a", "new_status": "APPROVED"},
        }
    ).encode()


def _accept(cluster: Cluster, requests: int) -> float:
    """Events committed per second, one sender per receiver (kept-alive stdlib connections)."""
    headers = {"Authorization": f"Bearer {SECRET}", "Content-Type": "application/json"}
    accepted = [0] * len(cluster.ports)
    bodies = [[_envelope(index) for index in range(requests)] for _ in cluster.ports]

    def sender(receiver: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", cluster.ports[receiver], timeout=30)
        try:
            for body in bodies[receiver]:
                connection.request("POST", "/webhooks/passfort", body=body, headers=headers)
                response = connection.getresponse()
                payload = response.read()
                if response.status == 200:
                    accepted[receiver] += json.loads(payload)["queued"]
        finally:
            connection.close()

    threads = [threading.Thread(target=sender, args=(index,)) for index in range(len(cluster.ports))]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(accepted) / (time.perf_counter() - started)


def _apply_rate(cluster: Cluster, workers: int) -> float:
    """Queue ``SCALING_EVENTS`` (delivered, not yet applied), start ``workers`` processes, and
    measure the steady rate: from 10 % to 90 % of the jobs done, so process start-up (imports,
    OAuth, describes at 100 ms a call) and the last stragglers do not count."""
    emitted = emit(cluster, SCALING_EVENTS)
    cluster.emulators.pf.configure_delivery(paused=False)
    cluster.emulators.pf.wait_delivered(timeout=120)
    before = cluster.done()
    jobs = len({envelope["id"] for envelope in emitted})
    for _ in range(workers):
        cluster.start_worker()
    marks: dict[float, float] = {}
    deadline = time.monotonic() + 300
    while len(marks) < 2 and time.monotonic() < deadline:
        done = cluster.done() - before
        for fraction in (0.1, 0.9):
            if fraction not in marks and done >= fraction * jobs:
                marks[fraction] = time.perf_counter()
        time.sleep(0.02)
    cluster.wait_settled(before + jobs, timeout=120)
    cluster.stop_workers()
    if len(marks) < 2:
        return 0.0
    return 0.8 * jobs / (marks[0.9] - marks[0.1])


def run() -> dict[str, float]:
    """Every figure of the module (two to three minutes on 2 cores)."""
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as folder:
        directory = Path(folder)
        (directory / "accept").mkdir()
        with running_cluster(directory / "accept") as cluster:
            _accept(cluster, 50)  # warm up connections and pools
            results["pg_webhook_accept_per_s"] = round(_accept(cluster, REQUESTS_PER_SENDER), 1)
        (directory / "scaling").mkdir()
        with running_cluster(
            directory / "scaling",
            worker_args=WORKER_ARGS,
            sf_settings={"latency_ms": 100},
            extra_profiles=200,
        ) as cluster:
            for workers in (1, 2, 4):
                results[f"pg_events_per_s_workers_{workers}"] = round(_apply_rate(cluster, workers), 1)
        one = results["pg_events_per_s_workers_1"]
        results["pg_worker_scaling_4_vs_1"] = (
            round(results["pg_events_per_s_workers_4"] / one, 2) if one else 0.0
        )
        (directory / "kill9").mkdir()
        with running_cluster(
            directory / "kill9",
            worker_args=("--batch-size", "20", "--lease-seconds", "2", "--poll-interval", "0.05"),
            sf_settings={"latency_ms": 2},
            extra_profiles=30,
        ) as cluster:
            emitted = emit(cluster, KILL9_EVENTS)
            run_with_kills(cluster, len(emitted))
            outcome = cluster.outcome(len(emitted))
            results["pg_kill9_events"] = float(len(emitted))
            results["pg_kill9_lost_events"] = float(outcome["lost"])
            results["pg_kill9_duplicate_records"] = float(outcome["duplicate_records"])
            results["pg_kill9_final_state_mismatches"] = float(outcome["mismatched"])
    return results


if __name__ == "__main__":
    for name, value in run().items():
        print(name, value)
