"""A worker process killed with SIGKILL mid-batch: after a restart every event is applied once in
effect, nothing is lost, and no Salesforce record is duplicated."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from fieldline.queue import JobState
from tests.e2e.harness import SPEC_FILE, Stack, running_stack
from tests.e2e.test_pipeline import application_ids, assert_salesforce_matches_passfort
from tests.waiting import wait_until

pytestmark = pytest.mark.timeout(120)

FIELDLINE = str(Path(sys.executable).with_name("fieldline"))


def start_worker(stack: Stack, log: Path, *extra: str) -> subprocess.Popen[bytes]:
    """``fieldline worker`` as its own process on the service's database (env already set)."""
    command = [
        FIELDLINE,
        "worker",
        "--spec",
        str(SPEC_FILE),
        "--db",
        str(stack.db),
        "--batch-size",
        "4",
        "--lease-seconds",
        "1",
        "--poll-interval",
        "0.05",
        "--log-level",
        "warning",
        *extra,
    ]
    with log.open("ab") as output:
        return subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)


def test_sigkill_mid_batch_loses_nothing_and_duplicates_nothing(tmp_path: Path) -> None:
    with running_stack(tmp_path, workers=0, sf_settings={"latency_ms": 15}) as stack:
        pairs = application_ids(stack)
        events = 0
        for status in ("IN_REVIEW", "APPROVED", "IN_REVIEW", "REJECTED"):
            for _, application_id in pairs:
                events += len(stack.pf.set_status(application_id, status))
        stack.pf.wait_delivered(timeout=30)
        assert stack.counts() == {JobState.TODO: events}
        stack.pf.configure_delivery(paused=True)  # the echoes of our write-backs wait, see drain_echoes

        log = tmp_path / "worker.log"
        victim = start_worker(stack, log)
        try:
            # Kill it while it holds a batch, after it has finished at least one.
            wait_until(
                lambda: (
                    stack.counts().get(JobState.DONE, 0) >= 4 and stack.counts().get(JobState.DOING, 0) > 0
                )
            )
        finally:
            victim.kill()
            victim.wait(timeout=10)
        counts = stack.counts()
        assert counts.get(JobState.DONE, 0) < events, "the worker was killed before finishing"

        survivor = start_worker(stack, log, "--exit-when-empty")
        assert survivor.wait(timeout=90) == 0, log.read_text()
        echoes = drain_echoes(stack, log)

        counts = stack.counts()
        assert counts == {JobState.DONE: events + echoes}, f"{counts} (log: {log.read_text()[-2000:]})"
        assert_salesforce_matches_passfort(stack)
        accounts = [account["PassFort_Profile_Id__c"] for account in stack.records("Account")]
        assert len(accounts) == len(set(accounts)) == len(stack.pf.profile_ids())
        assert len(stack.records("PassFort_Application__c")) == len(pairs)
        assert_written_back_once(stack, echoes)


def drain_echoes(stack: Stack, log: Path) -> int:
    """Deliver the webhooks our write-backs caused (held while workers ran) and let a worker
    complete them; returns how many there were."""
    held = stack.pf.deliveries()
    stack.pf.configure_delivery(paused=False)
    stack.pf.wait_delivered(timeout=30)
    echoes = stack.pf.deliveries()["delivered"] - held["delivered"]
    drainer = start_worker(stack, log, "--exit-when-empty")
    assert drainer.wait(timeout=60) == 0, log.read_text()
    return echoes


def assert_written_back_once(stack: Stack, echoes: int) -> None:
    """Every profile holds its Account's id, written once: one collected-data change each."""
    accounts = {account["PassFort_Profile_Id__c"]: account["Id"] for account in stack.records("Account")}
    refs = {
        profile_id: ref
        for profile_id in stack.pf.profile_ids()
        if (ref := (stack.pf.profile(profile_id) or {})["collected_data"].get("customer_ref"))
    }
    assert refs == accounts, "each profile with an Account holds its id, no other does"
    assert echoes == len(accounts), "one write-back per profile, never repeated"


def test_sigkill_between_the_salesforce_write_and_the_write_back(tmp_path: Path) -> None:
    with running_stack(tmp_path, workers=0) as stack:
        pairs = application_ids(stack)
        events = sum(len(stack.pf.set_status(application_id, "APPROVED")) for _, application_id in pairs)
        stack.pf.wait_delivered(timeout=30)
        stack.pf.configure_delivery(paused=True)
        # A slow PassFort keeps the window between an Account's write and its write-back open.
        stack.pf.set_faults(latency_ms=400)
        log = tmp_path / "worker.log"
        victim = start_worker(stack, log, "--lease-seconds", "2")
        profiles = set(stack.pf.profile_ids())

        def not_written_back() -> set[str]:
            """Profiles whose Account exists and that do not hold its id (yet)."""
            accounts = {account["PassFort_Profile_Id__c"] for account in stack.records("Account")}
            return {
                profile_id
                for profile_id in accounts & profiles
                if not (stack.pf.profile(profile_id) or {})["collected_data"].get("customer_ref")
            }

        try:
            # An Account exists: its write-back (a read and a write, 400 ms each) is under way.
            wait_until(lambda: stack.records("Account"), what="an Account written")
        finally:
            victim.kill()
            victim.wait(timeout=10)
        stack.pf.set_faults(latency_ms=0)
        assert not_written_back(), "killed between a Salesforce write and its write-back"

        survivor = start_worker(stack, log, "--exit-when-empty")
        assert survivor.wait(timeout=90) == 0, log.read_text()
        echoes = drain_echoes(stack, log)
        assert stack.counts() == {JobState.DONE: events + echoes}
        accounts = [account["PassFort_Profile_Id__c"] for account in stack.records("Account")]
        assert len(accounts) == len(set(accounts)), "no duplicate Accounts"
        assert_written_back_once(stack, echoes)


def test_sigterm_finishes_the_batch_in_hand_then_exits(tmp_path: Path) -> None:
    with running_stack(tmp_path, workers=0, sf_settings={"latency_ms": 15}) as stack:
        for _, application_id in application_ids(stack):
            stack.pf.set_status(application_id, "APPROVED")
        stack.pf.wait_delivered(timeout=30)
        worker = start_worker(stack, tmp_path / "worker.log", "--lease-seconds", "60")
        try:
            wait_until(lambda: stack.counts().get(JobState.DOING, 0) > 0)
            worker.send_signal(signal.SIGTERM)
            assert worker.wait(timeout=30) == 0
        finally:
            worker.kill()
            worker.wait()
        counts = stack.counts()
        assert counts.get(JobState.DOING, 0) == 0, "in-flight jobs were finished, not abandoned"
        assert counts.get(JobState.DONE, 0) >= 1
