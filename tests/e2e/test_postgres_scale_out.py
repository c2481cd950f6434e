"""Scale-out on PostgreSQL: 2 receivers and 3 worker processes on one database; receivers and
workers killed with SIGKILL and PostgreSQL restarted mid-run -> nothing lost, no duplicate
record, and Salesforce ends at the last PassFort state of every application."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from fieldline.queue import JobState
from tests.e2e.harness import SECRET
from tests.e2e.scale_out import emit, run_with_kills, running_cluster

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

EVENTS = 5000
WORKER_ARGS = ("--batch-size", "20", "--lease-seconds", "2", "--poll-interval", "0.05")


def test_kills_and_a_postgresql_restart_lose_and_duplicate_nothing(
    tmp_path: Path, pg_server_url: str
) -> None:
    # pg_server_url: the session's server proves PostgreSQL can run here (or skips/fails clearly).
    with running_cluster(
        tmp_path, worker_args=WORKER_ARGS, sf_settings={"latency_ms": 2}, extra_profiles=30
    ) as cluster:
        emitted = emit(cluster, EVENTS)
        moments = run_with_kills(cluster, len(emitted))
        assert moments["done_at_restart"] < len(emitted), "the restart came mid-run"
        assert moments["done_at_last_kill"] < len(emitted), "the last kills came mid-run"

        # A replay through the other receiver is acknowledged, not stored again.
        replayed = [{**envelope, "secret": SECRET} for envelope in emitted[:200]]
        response = httpx.post(
            f"{cluster.receiver_url(1)}/webhooks/passfort",
            content=json.dumps(replayed),
            headers={"authorization": f"Bearer {SECRET}", "content-type": "application/json"},
            timeout=30,
        )
        assert response.status_code == 200
        assert response.json()["duplicates"] == 200

        counts = cluster.counts()
        echoes = cluster.echoes(len(emitted))  # one per profile whose Account id was written back
        assert counts == {JobState.DONE: len({envelope["id"] for envelope in emitted}) + echoes}, counts
        assert cluster.outcome(len(emitted)) == {"lost": 0, "duplicate_records": 0, "mismatched": 0}
