"""SQLite-specific behaviour: URLs, errors, several worker processes on one file."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from fieldline.contracts import SourceEvent
from fieldline.errors import ConfigError, QueueError
from fieldline.plugins.manager import get_plugin_manager
from fieldline.queue import JobQueue, JobState, RunStore, Storage, open_storage
from fieldline.queue.plugin import open_sqlite_storage
from fieldline.queue.sqlite_file import sqlite_path_from_url
from fieldline.queue.sqlite_queue import SQLiteJobQueue
from fieldline.testing.queue_suite import event


@pytest.mark.parametrize(
    ("url", "path", "options"),
    [
        pytest.param("sqlite:///queue.db", "queue.db", {}, id="relative"),
        pytest.param("sqlite:////var/lib/q.db", "/var/lib/q.db", {}, id="absolute"),
        pytest.param("sqlite:///q.db?max_attempts=9", "q.db", {"max_attempts": "9"}, id="options"),
    ],
)
def test_sqlite_urls(url: str, path: str, options: dict[str, str]) -> None:
    assert sqlite_path_from_url(url) == (path, options)


def test_open_storage_by_url_and_by_path(tmp_path: Path) -> None:
    by_url = open_storage(f"sqlite:///{tmp_path}/q.db?max_attempts=7&synchronous=normal")
    by_path = open_storage(tmp_path / "q.db")
    try:
        assert isinstance(by_url.queue, SQLiteJobQueue)
        assert isinstance(by_url.queue, JobQueue)
        assert isinstance(by_url.runs, RunStore)
        assert by_url.queue.max_attempts == 7
        by_url.queue.enqueue([event("e1", "a")], source="pf")
        assert by_path.queue.enqueue([event("e1", "a")], source="pf").duplicates == 1
        by_url.runs.record([], source="pf", applied={"a": 1.0})
        assert by_path.runs.applied_versions("pf", ["a"]) == {"a": 1.0}, "one file holds queue and runs"
    finally:
        by_url.close()
        by_path.close()


def test_unknown_scheme_names_the_installed_backends() -> None:
    with pytest.raises(ConfigError, match="no storage backend for 'redis'") as caught:
        open_storage("redis://localhost/0", plugin_manager=get_plugin_manager(load_entrypoints=False))
    assert caught.value.hint == "installed backends: postgres, postgresql, sqlite"


def test_plugins_can_register_backends(tmp_path: Path) -> None:
    from fieldline import hookimpl

    opened: list[str] = []

    class MemoryPlugin:
        @hookimpl
        def register_storage_backends(self) -> dict[str, object]:
            def factory(url: str) -> Storage:
                opened.append(url)
                return open_sqlite_storage(f"sqlite:///{tmp_path}/plugin.db")

            return {"mem": factory}

    manager = get_plugin_manager(load_entrypoints=False, plugins=(MemoryPlugin(),))
    storage = open_storage("mem://x", plugin_manager=manager)
    storage.close()
    assert opened == ["mem://x"]


def test_bad_url_options_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="max_attempts"):
        SQLiteJobQueue.from_url(f"sqlite:///{tmp_path}/q.db?max_attempts=lots")
    with pytest.raises(ConfigError, match="names no file"):
        SQLiteJobQueue.from_url("sqlite://")


def test_unopenable_database_is_a_queue_error(tmp_path: Path) -> None:
    with pytest.raises(QueueError, match="cannot open the SQLite database") as caught:
        SQLiteJobQueue(tmp_path / "missing-dir" / "q.db")
    assert caught.value.hint is not None


def test_closed_queue_refuses_work(tmp_path: Path) -> None:
    queue = SQLiteJobQueue(tmp_path / "q.db")
    queue.close()
    with pytest.raises(QueueError, match="closed"):
        queue.enqueue([event("e1", "a")], source="pf")


WORKER = textwrap.dedent(
    """
    import os, sys
    from fieldline.queue.sqlite_queue import SQLiteJobQueue
    queue = SQLiteJobQueue(sys.argv[1], synchronous="NORMAL")
    log = os.open(sys.argv[2], os.O_WRONLY | os.O_APPEND)
    idle = 0
    while idle < 20:
        jobs = queue.claim(sys.argv[3], limit=int(sys.argv[4]), lease_seconds=60)
        if not jobs:
            idle += 1
            continue
        idle = 0
        for job in jobs:
            os.write(log, f"{job.lock_key} {job.payload['seq']} {job.id}\\n".encode())
        queue.complete(jobs)
    queue.close()
    """
)


def test_several_processes_keep_per_key_order_and_never_share_a_job(tmp_path: Path) -> None:
    database = tmp_path / "q.db"
    log = tmp_path / "log.txt"
    log.touch()
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    queue = SQLiteJobQueue(database, synchronous="NORMAL")
    total = 3000
    events = [
        SourceEvent(
            id=f"e{index}", type="T", entity_key=f"k{index % 25}", occurred_at=index, payload={"seq": index}
        )
        for index in range(total)
    ]
    for start in range(0, total, 500):
        queue.enqueue(events[start : start + 500], source="pf")
    workers = [
        subprocess.Popen(
            [sys.executable, str(script), str(database), str(log), f"w{index}", str(limit)],
        )
        for index, limit in enumerate((7, 20, 50))
    ]
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
    assert queue.status().counts == {JobState.DONE: total}
    queue.close()


def test_connections_of_ended_threads_are_closed(tmp_path: Path) -> None:
    import threading

    queue = SQLiteJobQueue(tmp_path / "q.db")
    for index in range(20):
        thread = threading.Thread(
            target=queue.enqueue, args=([event(f"e{index}", "a")],), kwargs={"source": "pf"}
        )
        thread.start()
        thread.join()
    assert len(queue._connections) <= 2, "one for this thread, one for the last ended thread at most"
    assert queue.status().counts == {JobState.TODO: 20}
    queue.close()


def test_a_plugin_may_override_sqlite_but_two_may_not_claim_one_scheme(tmp_path: Path) -> None:
    from fieldline import hookimpl
    from fieldline.queue import plugin as builtin_plugin, storage_backends

    def custom(url: str) -> Storage:
        return open_sqlite_storage(f"sqlite:///{tmp_path}/custom.db")

    class Override:
        @hookimpl
        def register_storage_backends(self) -> dict[str, object]:
            return {"sqlite": custom}

    class Rival:
        @hookimpl
        def register_storage_backends(self) -> dict[str, object]:
            return {"sqlite": lambda url: None}

    manager = get_plugin_manager(load_entrypoints=False, plugins=(builtin_plugin, Override()))
    assert storage_backends(manager)["sqlite"] is custom
    rivals = get_plugin_manager(load_entrypoints=False, plugins=(Override(), Rival()))
    with pytest.raises(ConfigError, match="two plugins register the storage backend 'sqlite'"):
        storage_backends(rivals)


@pytest.mark.parametrize(
    ("url_option", "pragma"), [("", 2), ("?synchronous=full", 2), ("?synchronous=normal", 1)]
)
def test_synchronous_mode_from_the_url(tmp_path: Path, url_option: str, pragma: int) -> None:
    queue = SQLiteJobQueue.from_url(f"sqlite:///{tmp_path}/q.db{url_option}")
    try:
        assert queue._connection().execute("PRAGMA synchronous").fetchone()[0] == pragma
        assert queue._connection().execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        queue.close()


def test_unknown_synchronous_mode_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="synchronous mode 'sometimes'"):
        SQLiteJobQueue.from_url(f"sqlite:///{tmp_path}/q.db?synchronous=sometimes")


def test_a_queue_file_of_an_older_release_gains_the_new_columns(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "old.db"
    with sqlite3.connect(path) as connection:
        connection.executescript(
            "CREATE TABLE fieldline_jobs (id INTEGER PRIMARY KEY AUTOINCREMENT, source TEXT NOT NULL,"
            " event_id TEXT NOT NULL, event_type TEXT NOT NULL, lock_key TEXT NOT NULL,"
            " payload TEXT NOT NULL,"
            " occurred_at REAL NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,"
            " run_after REAL NOT NULL, enqueued_at REAL NOT NULL, lease_token TEXT, lease_until REAL,"
            " worker_id TEXT, finished_at REAL, last_error TEXT, note TEXT, UNIQUE (source, event_id));"
            "CREATE TABLE fieldline_failures (id INTEGER PRIMARY KEY AUTOINCREMENT, job_id INTEGER NOT NULL,"
            " event_id TEXT NOT NULL, lock_key TEXT NOT NULL, error TEXT NOT NULL, attempts INTEGER NOT NULL,"
            " failed_at REAL NOT NULL, dead INTEGER NOT NULL);"
            "INSERT INTO fieldline_jobs (source, event_id, event_type, lock_key, payload, occurred_at,"
            " status, run_after, enqueued_at)"
            " VALUES ('passfort', 'old-1', 'T', 'p1', '{}', 1.0, 'todo', 0, 0);"
        )
    connection.close()
    with SQLiteJobQueue(path) as queue:
        [job] = queue.claim("w", limit=5, source="passfort")
        assert (job.event_id, job.ordering_keys, job.version_keys) == ("old-1", (), ("p1",))
        queue.fail(job, "boom", permanent=True)
        assert queue.status(source="passfort").dead_letters == 1
