"""Workers and tenants: a batch is split by tenant, each part written through that tenant's own
runner (built once), and one tenant's failure never holds up the others."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from fieldline.contracts import EventRole, Stop, StopReason
from fieldline.errors import BudgetExhaustedError, ConfigError, TransientAdapterError
from fieldline.queue import JobState
from fieldline.queue.sqlite_queue import SQLiteJobQueue
from fieldline.queue.sqlite_run_store import SQLiteRunStore
from fieldline.service.worker import Worker, WorkerSettings
from fieldline.testing.queue_suite import FakeClock
from tests.service.fakes import FakeRunner, FakeSource, event, make_queue


class Closed:
    def __init__(self) -> None:
        self.closed = 0

    def close(self) -> None:
        self.closed += 1


class Rig:
    def __init__(self, directory: Path) -> None:
        self.clock = FakeClock()
        self.queue: SQLiteJobQueue = make_queue(directory, self.clock)
        self.store = SQLiteRunStore(directory / "q.db", clock=self.clock)
        self.runners: dict[str, FakeRunner] = {"a": FakeRunner(), "b": FakeRunner(), "c": FakeRunner()}
        self.built: list[str] = []
        self.resources: dict[str, Closed] = {}
        self.refuse: dict[str, Exception] = {}
        self.default = FakeRunner(raises=ConfigError("no tenant"))
        self.worker = Worker(
            self.queue,
            self.store,
            FakeSource(profiles={}),
            self.default,
            worker_id="w1",
            settings=WorkerSettings(batch_size=50, budget_pause=120),
            tenant_runners=self.build,
        )

    def build(self, tenant: str) -> tuple[FakeRunner, Closed]:
        self.built.append(tenant)
        if tenant in self.refuse:
            raise self.refuse[tenant]
        self.resources[tenant] = Closed()
        return self.runners[tenant], self.resources[tenant]

    def send(self, event_id: str, tenant: str, key: str) -> int:
        sent = replace(
            event(event_id, f"{tenant}/{key}", role=EventRole.DOCUMENT),
            id=f"{tenant}/{event_id}",
            tenant=tenant,
        )
        [job_id] = self.queue.enqueue([sent], source="fake").job_ids
        return job_id


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    built = Rig(tmp_path)
    yield built
    built.queue.close()
    built.store.close()


def test_each_tenants_documents_go_through_its_own_runner_built_once(rig: Rig) -> None:
    jobs = [rig.send("e1", "a", "x"), rig.send("e2", "b", "x"), rig.send("e3", "a", "y")]
    assert rig.worker.run_once().completed == 3
    rig.send("e4", "a", "z")
    rig.worker.run_once()
    assert rig.built == ["a", "b"]
    assert [sorted(doc.key for doc in call) for call in rig.runners["a"].calls] == [["a/x", "a/y"], ["a/z"]]
    assert [[doc.key for doc in call] for call in rig.runners["b"].calls] == [["b/x"]]
    assert all(rig.queue.state_of(job) is JobState.DONE for job in jobs)
    rig.worker.close()
    assert rig.resources["a"].closed == rig.resources["b"].closed == 1


@pytest.mark.parametrize(
    "failure",
    [
        pytest.param(ConfigError("the refresh token expired"), id="expired-login"),
        pytest.param(BudgetExhaustedError("daily limit"), id="daily-limit"),
        pytest.param(TransientAdapterError("UNABLE_TO_LOCK_ROW"), id="locked-rows"),
    ],
)
def test_one_tenants_failing_org_does_not_hold_up_the_others(rig: Rig, failure: Exception) -> None:
    rig.runners["b"].raises = failure
    a1, b1, c1 = rig.send("e1", "a", "x"), rig.send("e2", "b", "x"), rig.send("e3", "c", "x")
    result = rig.worker.run_once()
    assert result.paused is False  # the worker goes on with the next batch at once
    assert rig.queue.state_of(a1) is JobState.DONE
    assert rig.queue.state_of(c1) is JobState.DONE
    assert rig.queue.state_of(b1) is JobState.TODO  # put back or retried, not lost
    rig.runners["b"].raises = None
    rig.clock.advance(600)
    rig.worker.run_once()
    assert rig.queue.state_of(b1) is JobState.DONE


def test_a_tenant_whose_connection_cannot_be_built_waits_alone(rig: Rig) -> None:
    rig.refuse["b"] = ConfigError("ORG_B_PASSWORD is not set")
    a1, b1 = rig.send("e1", "a", "x"), rig.send("e2", "b", "x")
    result = rig.worker.run_once()
    assert (result.completed, result.released, result.paused) == (1, 1, False)
    assert rig.queue.state_of(a1) is JobState.DONE
    assert rig.queue.state_of(b1) is JobState.TODO
    assert any("ORG_B_PASSWORD" in (entry.error or "") for entry in rig.store.entries(entity="b/x"))


def test_the_worker_pauses_only_when_every_tenant_of_the_batch_paused(rig: Rig) -> None:
    for tenant in ("a", "b"):
        rig.runners[tenant].stopped = Stop(StopReason.DAILY_LIMIT, "daily limit")
        rig.runners[tenant].raises = BudgetExhaustedError("daily limit")
    rig.send("e1", "a", "x")
    rig.send("e2", "b", "x")
    assert rig.worker.run_once().paused is True
