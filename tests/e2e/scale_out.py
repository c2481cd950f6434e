"""Scale-out on PostgreSQL, end to end: N ``fieldline serve --workers 0`` receivers and M
``fieldline worker`` processes on one database, the PassFort and Salesforce emulators, and a
throwaway PostgreSQL server that can be restarted. Used by the multi-process test and by
``benchmarks/bench_postgres.py``.

The PassFort emulator delivers to one URL at a time; the cluster plays the load balancer by
pointing it at a live receiver (``route_to``), as a health-checking balancer would.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from fieldline.queue import JobState, Storage, open_storage
from fieldline.testing.pg_server import PostgresServer
from tests.e2e.harness import SPEC_FILE, Emulators, running_emulators
from tests.postgres import new_schema, with_query
from tests.waiting import PATIENCE, wait_until

FIELDLINE = str(Path(sys.executable).with_name("fieldline"))
STATUSES = ("IN_REVIEW", "APPROVED", "REJECTED", "CANCELLED")
_LABELS = {"APPLIED": "Applied", "IN_REVIEW": "In review", "APPROVED": "Approved", "REJECTED": "Rejected"}
_LABELS["CANCELLED"] = "Cancelled"


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Cluster:
    """The processes of one scale-out deployment, and handles to drive and inspect them."""

    server: PostgresServer
    emulators: Emulators
    db: str
    storage: Storage
    log: Path
    ports: list[int]
    worker_args: tuple[str, ...]
    receivers: dict[int, subprocess.Popen[bytes]] = field(default_factory=dict)
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    # --- processes ------------------------------------------------------------------------

    def _spawn(self, *arguments: str) -> subprocess.Popen[bytes]:
        with self.log.open("ab") as output:
            return subprocess.Popen(
                [FIELDLINE, *arguments], stdout=output, stderr=subprocess.STDOUT, env=dict(os.environ)
            )

    def receiver_url(self, index: int) -> str:
        return f"http://127.0.0.1:{self.ports[index]}"

    def start_receiver(self, index: int) -> None:
        self.receivers[index] = self._spawn(
            "serve", "--spec", str(SPEC_FILE), "--db", self.db, "--workers", "0",
            "--port", str(self.ports[index]), "--log-level", "warning",
        )  # fmt: skip
        url = self.receiver_url(index)
        process = self.receivers[index]

        def healthy() -> bool:
            if process.poll() is not None:
                raise RuntimeError(f"receiver {index} exited: {self.log.read_text()[-2000:]}")
            try:
                return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
            except httpx.TransportError:
                return False

        wait_until(healthy, poll=0.05, what=f"receiver {index} healthy")

    def kill_receiver(self, index: int) -> None:
        process = self.receivers.pop(index)
        process.kill()
        process.wait(timeout=10)

    def kill_receivers(self) -> None:
        for index in list(self.receivers):
            self.kill_receiver(index)

    def start_worker(self, *extra: str) -> subprocess.Popen[bytes]:
        process = self._spawn(
            "worker", "--spec", str(SPEC_FILE), "--db", self.db, "--log-level", "warning",
            *self.worker_args, *extra,
        )  # fmt: skip
        self.workers.append(process)
        return process

    def kill_worker(self, process: subprocess.Popen[bytes]) -> None:
        process.kill()
        process.wait(timeout=10)
        self.workers.remove(process)

    def stop_workers(self) -> None:
        for process in self.workers:
            process.send_signal(signal.SIGTERM)
        for process in self.workers:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.workers.clear()

    def route_to(self, index: int) -> None:
        """Point PassFort's deliveries at receiver ``index`` (the load balancer's choice)."""
        self.emulators.pf.configure_delivery(deliver_to=f"{self.receiver_url(index)}/webhooks/passfort")

    # --- inspecting -----------------------------------------------------------------------

    def counts(self) -> dict[JobState, int]:
        return dict(self.storage.queue.status().counts)

    def done(self) -> int:
        return self.counts().get(JobState.DONE, 0)

    def wait_settled(self, events: int, timeout: float = PATIENCE) -> None:
        """Every emitted webhook delivered and every job settled, twice over: a job that writes
        ``customer_ref`` back to PassFort makes it emit one more webhook (the echo) later."""
        for _ in range(2):
            self.emulators.pf.wait_delivered(timeout=timeout)
            wait_until(
                lambda: (
                    self.counts().get(JobState.DONE, 0) + self.counts().get(JobState.DEAD, 0) >= events
                    and not self.storage.queue.status().waiting
                ),
                timeout=timeout,
                poll=0.1,
                what="every job settled",
            )

    def echoes(self, emitted: int) -> int:
        """How many webhooks PassFort sent for our own write-backs, beyond the ``emitted`` ones."""
        return self.emulators.pf.stats()["events_emitted"] - emitted

    def applications(self) -> list[str]:
        pf = self.emulators.pf
        return [
            application["id"]
            for profile_id in pf.profile_ids()
            for application in (pf.profile(profile_id) or {"applications": []})["applications"]
        ]

    def outcome(self, emitted: int) -> dict[str, int]:
        """``lost`` (emitted but not applied), ``duplicate_records`` and ``mismatched``
        (Salesforce not at the last PassFort state) — all must be 0."""
        counts = self.counts()
        jobs = sum(counts.values())
        lost = max(0, emitted - jobs) + (jobs - counts.get(JobState.DONE, 0))
        sf, pf = self.emulators.sf, self.emulators.pf
        accounts = [record["PassFort_Profile_Id__c"] for record in sf.records("Account")]
        apps = sf.records("PassFort_Application__c")
        app_ids = [record["Application_ID__c"] for record in apps]
        duplicates = (len(accounts) - len(set(accounts))) + (len(app_ids) - len(set(app_ids)))
        by_id = {record["Application_ID__c"]: record for record in apps}
        mismatched = 0
        for profile_id in pf.profile_ids():
            for application in (pf.profile(profile_id) or {"applications": []})["applications"]:
                record = by_id.get(application["id"])
                if record is None or record["Status__c"] != _LABELS[application["status"]]:
                    mismatched += 1
        return {"lost": lost, "duplicate_records": duplicates, "mismatched": mismatched}


def add_profiles(emulators: Emulators, count: int) -> None:
    """``count`` more company profiles with one application each (more entities, more keys)."""
    pf = emulators.pf
    template = pf.profile(pf.profile_ids()[0])
    assert template is not None
    product = template["applications"][0]["product"]
    for index in range(count):
        metadata = {
            **template["collected_data"]["metadata"],
            "name": f"Scale {index} Ltd",
            "number": f"S{index:07d}",
        }
        pf.add_profile(
            {
                "role": "COMPANY_CUSTOMER",
                "collected_data": {"entity_type": "COMPANY", "metadata": metadata},
                "applications": [{"product": product, "status": "APPLIED"}],
            }
        )


def emit(cluster: Cluster, events: int) -> list[dict[str, Any]]:
    """At least ``events`` status changes, round-robin over the applications (delivery paused)."""
    pf = cluster.emulators.pf
    pf.configure_delivery(paused=True)
    applications = cluster.applications()
    emitted: list[dict[str, Any]] = []
    index = 0
    while len(emitted) < events:
        status = STATUSES[(index // len(applications)) % len(STATUSES)]
        emitted.extend(pf.set_status(applications[index % len(applications)], status))
        index += 1
    return emitted


@contextmanager
def running_cluster(
    directory: Path,
    *,
    receivers: int = 2,
    worker_args: tuple[str, ...] = (),
    sf_settings: Mapping[str, Any] | None = None,
    delivery: Mapping[str, Any] | None = None,
    extra_profiles: int = 0,
) -> Iterator[Cluster]:
    """A throwaway PostgreSQL (upgraded schema), both emulators and ``receivers`` started
    receivers; workers are started by the caller (``cluster.start_worker``)."""
    with ExitStack() as stack:
        server = PostgresServer(settings={"max_connections": "200"})
        stack.callback(server.remove)
        server.init()
        server.start()
        db = with_query(new_schema(server.url()), pool_timeout="2", max_attempts="50")
        emulators = stack.enter_context(running_emulators(batch=True, sf_settings=sf_settings))
        emulators.pf.configure_delivery(
            paused=True, batch_interval=0.02, backoff_base=0.05, backoff_cap=0.5, **(delivery or {})
        )
        if extra_profiles:
            add_profiles(emulators, extra_profiles)
        storage = stack.enter_context(open_storage(db))
        cluster = Cluster(
            server=server,
            emulators=emulators,
            db=db,
            storage=storage,
            log=directory / "processes.log",
            ports=[_free_port() for _ in range(receivers)],
            worker_args=worker_args,
        )
        stack.callback(cluster.stop_workers)
        stack.callback(cluster.kill_receivers)
        for index in range(receivers):
            cluster.start_receiver(index)
        cluster.route_to(0)
        yield cluster


def run_with_kills(cluster: Cluster, emitted: int, *, workers: int = 3) -> dict[str, int]:
    """Deliver and apply ``emitted`` queued events with ``workers`` worker processes while
    killing workers and receivers with SIGKILL and restarting PostgreSQL; returns how many jobs
    were done when the restart and the last kills came (both must be mid-run)."""
    started = [cluster.start_worker() for _ in range(workers)]
    cluster.emulators.pf.configure_delivery(paused=False)

    def progressed(at_least: int) -> None:
        wait_until(lambda: cluster.done() >= at_least, poll=0.05, what=f"{at_least} jobs done")

    progressed(emitted // 10)
    cluster.kill_worker(started[0])  # mid-batch: its leases expire, the others take them
    cluster.start_worker()
    cluster.kill_receiver(0)  # mid-delivery: PassFort gets no 200 and sends again
    cluster.route_to(1)  # the load balancer fails over
    cluster.start_receiver(0)

    progressed(emitted // 3)
    cluster.server.restart()  # receivers answer 503, workers pause, then both resume
    at_restart = cluster.done()
    cluster.route_to(0)

    progressed(emitted // 2)
    cluster.kill_worker(started[1])
    cluster.kill_receiver(1)
    at_last_kill = cluster.done()
    cluster.start_worker()
    cluster.start_receiver(1)
    cluster.wait_settled(emitted, timeout=150)
    return {"done_at_restart": at_restart, "done_at_last_kill": at_last_kill}
