"""PostgreSQL-specific behaviour: URLs, the versioned schema, errors, several processes, restarts."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

from fieldline.cli import cli
from fieldline.contracts import SourceEvent
from fieldline.errors import ConfigError, QueueError
from fieldline.queue import JobState, open_storage
from fieldline.queue.postgres_db import redacted_url, split_url
from fieldline.queue.postgres_queue import PostgresJobQueue
from fieldline.queue.postgres_schema import SCHEMA_VERSION
from fieldline.testing.pg_server import PostgresServer, PostgresUnavailable
from fieldline.testing.queue_suite import event
from tests.postgres import new_schema, unavailable, with_query
from tests.waiting import wait_until


def test_fieldline_options_are_taken_out_of_the_url() -> None:
    conninfo, options = split_url("postgres://u:pw@db:5433/app?sslmode=require&max_attempts=9&pool_max=3")
    assert conninfo == "postgresql://u:pw@db:5433/app?sslmode=require"
    assert options == {"max_attempts": "9", "pool_max": "3"}
    assert redacted_url("postgresql://u:pw@db/app") == "postgresql://u:***@db/app"
    with pytest.raises(ConfigError, match="not a PostgreSQL URL"):
        split_url("mysql://db/app")


@pytest.mark.parametrize("scheme", ["postgresql", "postgres"])
def test_open_storage_by_url(pg_url: str, scheme: str) -> None:
    url = scheme + pg_url.removeprefix("postgresql")
    with open_storage(with_query(url, max_attempts="2")) as storage:
        assert isinstance(storage.queue, PostgresJobQueue)
        assert storage.queue.max_attempts == 2
        assert storage.queue.enqueue([event("e1", "a")], source="pf").queued == 1
        storage.runs.record([], source="pf", applied={"a": 3.0})
        assert storage.runs.applied_versions("pf", ["a"]) == {"a": 3.0}
    with open_storage(url) as again:
        assert again.queue.status().counts == {JobState.TODO: 1}, "the queue is durable"


def test_bad_url_options_are_config_errors(pg_url: str) -> None:
    with pytest.raises(ConfigError, match="max_attempts='many' is not a number"):
        open_storage(with_query(pg_url, max_attempts="many"))


def test_a_database_never_upgraded_is_refused_with_what_to_run(pg_server_url: str) -> None:
    url = new_schema(pg_server_url, upgraded=False)
    with pytest.raises(ConfigError, match="no fieldline tables yet") as caught:
        open_storage(url)
    assert caught.value.hint is not None
    assert "fieldline db upgrade --db" in caught.value.hint


def test_db_upgrade_creates_then_finds_nothing_to_do(pg_server_url: str) -> None:
    url = new_schema(pg_server_url, upgraded=False)
    runner = CliRunner()
    first = runner.invoke(cli, ["db", "upgrade", "--db", url])
    assert first.exit_code == 0, first.output
    assert f"schema upgraded from version none to {SCHEMA_VERSION}" in first.output
    second = runner.invoke(cli, ["db", "upgrade", "--db", url])
    assert second.exit_code == 0, second.output
    assert "nothing to do" in second.output
    with open_storage(url) as storage:
        assert storage.queue.status().counts == {}


def test_a_schema_newer_than_this_release_is_refused(pg_url: str) -> None:
    with psycopg.connect(pg_url, autocommit=True) as connection:
        connection.execute("INSERT INTO fieldline_schema_version VALUES (%s, 0)", (SCHEMA_VERSION + 1,))
    with pytest.raises(ConfigError, match="newer than this release knows") as caught:
        open_storage(pg_url)
    assert caught.value.hint is not None
    assert "upgrade fieldline" in caught.value.hint


def test_db_upgrade_of_sqlite_creates_the_file(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["db", "upgrade", "--db", str(tmp_path / "q.db")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "q.db").is_file()


def test_status_and_logs_work_on_postgresql(pg_url: str) -> None:
    with open_storage(pg_url) as storage:
        storage.queue.enqueue([event("e1", "a")], source="pf")
    runner = CliRunner()
    status = runner.invoke(cli, ["status", "--db", pg_url, "--json"])
    assert status.exit_code == 0, status.output
    assert '"waiting": 1' in status.output
    logs = runner.invoke(cli, ["logs", "--db", pg_url])
    assert logs.exit_code == 0, logs.output


def test_an_unreachable_server_is_a_queue_error_saying_what_to_check(free_port: int) -> None:
    url = f"postgresql://postgres@127.0.0.1:{free_port}/postgres?pool_timeout=0.5"
    started = time.monotonic()
    with pytest.raises(QueueError, match="no connection to PostgreSQL") as caught:
        open_storage(url)
    assert time.monotonic() - started < 30
    assert caught.value.hint is not None
    assert "PostgreSQL is running" in caught.value.hint


def test_closed_queue_refuses_work(pg_url: str) -> None:
    storage = open_storage(pg_url)
    storage.close()
    with pytest.raises(QueueError, match="closed"):
        storage.queue.enqueue([event("e1", "a")], source="pf")
    with pytest.raises(QueueError, match="closed"):
        storage.runs.entries()


WORKER = textwrap.dedent(
    """
    import os, sys
    from fieldline.queue import open_storage
    storage = open_storage(sys.argv[1])
    log = os.open(sys.argv[2], os.O_WRONLY | os.O_APPEND)
    enqueued = sys.argv[2] + ".enqueued"  # the test's sign that every event is in
    while True:
        finished = os.path.exists(enqueued)  # looked at before claiming: no event can be missed
        jobs = storage.queue.claim(sys.argv[3], limit=int(sys.argv[4]), lease_seconds=60)
        if not jobs:
            if finished:
                break
            continue
        for job in jobs:
            os.write(log, f"{job.lock_key} {job.payload['seq']} {job.id}\\n".encode())
        storage.queue.complete(jobs)
    storage.close()
    """
)


def test_several_processes_keep_per_key_order_and_never_share_a_job(pg_url: str, tmp_path: Path) -> None:
    log = tmp_path / "log.txt"
    log.touch()
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    total = 2000
    events = [
        SourceEvent(
            id=f"e{index}", type="T", entity_key=f"k{index % 25}", occurred_at=index, payload={"seq": index}
        )
        for index in range(total)
    ]
    with open_storage(pg_url) as storage:
        workers = [
            subprocess.Popen([sys.executable, str(script), pg_url, str(log), f"w{index}", str(limit)])
            for index, limit in enumerate((7, 20, 50))
        ]
        for start in range(0, total, 250):  # while the workers claim
            storage.queue.enqueue(events[start : start + 250], source="pf")
        (tmp_path / "log.txt.enqueued").touch()  # workers stop once they find nothing more
        for worker in workers:
            assert worker.wait(timeout=120) == 0
        lines = [line.split() for line in log.read_text().splitlines()]
        job_ids = [int(line[2]) for line in lines]
        assert len(job_ids) == total
        assert len(set(job_ids)) == total, "a job was handed out twice"
        per_key: dict[str, list[int]] = {}
        for key, seq, _ in lines:
            per_key.setdefault(key, []).append(int(seq))
        for key, sequence in per_key.items():
            assert sequence == sorted(sequence), f"key {key} processed out of order"
        assert storage.queue.status().counts == {JobState.DONE: total}


def test_a_job_of_a_key_committed_out_of_id_order_still_waits(pg_url: str) -> None:
    """Identity ids are taken at insert, not commit: a later id may commit first and be leased
    while an earlier id of the same key commits after. The earlier one must then wait."""
    with open_storage(pg_url) as storage, psycopg.connect(pg_url) as slow:
        slow.execute(
            "INSERT INTO fieldline_jobs (source, event_id, event_type, lock_key, payload, occurred_at,"
            " status, run_after, enqueued_at) VALUES ('pf', 'early', 'T', 'a', '{}', 1, 'todo', 0, 0)"
        )  # not committed yet: holds the lower id
        storage.queue.enqueue([event("late", "a")], source="pf")
        [late] = storage.queue.claim("w1", limit=10)
        assert late.event_id == "late"
        slow.commit()
        assert storage.queue.claim("w2", limit=10) == [], "key a is leased"
        storage.queue.complete([late])
        assert [job.event_id for job in storage.queue.claim("w2", limit=10)] == ["early"]


@pytest.fixture
def own_server(pg_server_url: str) -> PostgresServer:
    """A server of this test's own, to restart (the session's may be an existing one)."""
    try:
        server = PostgresServer()
        server.init()
        server.start()
    except PostgresUnavailable as exc:
        unavailable(str(exc))
    return server


def test_the_queue_reconnects_after_a_postgresql_restart(own_server: PostgresServer) -> None:
    try:
        url = new_schema(own_server.url())
        with open_storage(with_query(url, pool_timeout="2")) as storage:
            storage.queue.enqueue([event("e1", "a")], source="pf")
            own_server.stop()
            with pytest.raises(QueueError, match="PostgreSQL"):
                storage.queue.enqueue([event("e2", "a")], source="pf")
            own_server.start()
            results: list[int] = []

            def stored() -> bool:  # the pool replaces its broken connections by itself
                try:
                    results.append(storage.queue.enqueue([event("e2", "a")], source="pf").queued)
                except QueueError:
                    return False
                return True

            wait_until(stored, poll=0.2, what="the queue reconnecting after the restart")
            assert results == [1]
            assert storage.queue.status().counts == {JobState.TODO: 2}
    finally:
        own_server.remove()


def test_without_postgresql_tests_skip_locally_and_fail_under_ci() -> None:
    with pytest.raises(pytest.skip.Exception, match="FIELDLINE_TEST_PG_URL"):
        unavailable("initdb failed", environ={})
    with pytest.raises(pytest.fail.Exception, match="initdb failed"):
        unavailable("initdb failed", environ={"CI": "true"})


def test_an_idle_worker_is_woken_by_another_process_s_commit(pg_url: str) -> None:
    import threading

    with open_storage(pg_url) as listening, open_storage(pg_url) as receiving:
        wake = threading.Event()
        stop = listening.queue.wake_on_enqueue(wake)
        try:
            wait_until(wake.is_set)  # set once on (re)connecting: commits nobody heard of
            wake.clear()
            receiving.queue.enqueue([event("e1", "a")], source="s")
            wait_until(wake.is_set)  # NOTIFY at commit, LISTEN on the other connection
        finally:
            stop()
