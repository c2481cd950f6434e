"""The run log and sync state: versions only move forward, secrets never stored."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, strategies as st

from fieldline.config import Secret
from fieldline.errors import QueueError
from fieldline.queue.run_store import REDACTED, RunLogEntry, redact
from fieldline.queue.sqlite_run_store import SQLiteRunStore


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param({"secret": "x", "Name": "Acme"}, {"secret": REDACTED, "Name": "Acme"}, id="top-level"),
        pytest.param({"data": {"apikey": {"name": "K"}}}, {"data": {"apikey": REDACTED}}, id="nested"),
        pytest.param([{"Authorization": "Bearer t"}], [{"Authorization": REDACTED}], id="in-list"),
        pytest.param(
            {"API_KEY": 1, "refresh_token": 2}, {"API_KEY": REDACTED, "refresh_token": REDACTED}, id="names"
        ),
        pytest.param({"password": None}, {"password": REDACTED}, id="even-null"),
        pytest.param(Secret("hunter2"), REDACTED, id="secret-object"),
        pytest.param({"Status__c": "Approved"}, {"Status__c": "Approved"}, id="untouched"),
    ],
)
def test_redact(value: object, expected: object) -> None:
    assert redact(value) == expected


_KEYS = st.sampled_from(["Name", "secret", "api_key", "data", "Token", "x"]) | st.text(max_size=4)
_REDACTABLE = st.recursive(
    st.none() | st.integers() | st.text(max_size=4) | st.builds(Secret, st.text(min_size=1, max_size=4)),
    lambda children: (
        st.lists(children, max_size=3)
        | st.tuples(children, children)
        | st.dictionaries(_KEYS, children, max_size=3)
    ),
    max_leaves=20,
)


@given(_REDACTABLE)
def test_the_fast_redaction_gives_what_the_walk_gives(value: object) -> None:
    """Plain dicts take a fast path; it must redact exactly as the explicit-stack walk does."""
    from fieldline.queue.run_store import _redact_iteratively

    assert redact(value) == _redact_iteratively(value)


def test_applied_versions_only_move_forward(tmp_path: Path) -> None:
    with SQLiteRunStore(tmp_path / "s.db") as store:
        store.record([], source="pf", applied={"profile:p1": 10.0, "application:a1": 10.0})
        store.record([], source="pf", applied={"profile:p1": 5.0, "profile:p2": 7.0, "application:a1": 3.0})
        keys = ["profile:p1", "profile:p2", "profile:p3", "application:a1", "application:a2"]
        assert store.applied_versions("pf", keys) == {
            "profile:p1": 10.0,
            "profile:p2": 7.0,
            "application:a1": 10.0,
        }
        assert store.applied_versions("pf", []) == {}


def test_applied_versions_are_kept_apart_per_source(tmp_path: Path) -> None:
    with SQLiteRunStore(tmp_path / "s.db") as store:
        store.record([], source="pf", applied={"k": 10.0})
        store.record([], source="app", applied={"k": 2.0})
        assert store.applied_versions("pf", ["k"]) == {"k": 10.0}
        assert store.applied_versions("app", ["k"]) == {"k": 2.0}
        assert store.applied_versions("other", ["k"]) == {}


def test_a_run_log_of_an_older_release_is_upgraded_in_place(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "old.db"
    with sqlite3.connect(path) as connection:
        connection.executescript(
            "CREATE TABLE fieldline_run_log (id INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL,"
            " profile_key TEXT NOT NULL, event_ids TEXT NOT NULL, job_ids TEXT NOT NULL, record TEXT,"
            " key TEXT, object TEXT, action TEXT NOT NULL, target_id TEXT, written TEXT NOT NULL,"
            " error TEXT);"
            "CREATE INDEX fieldline_run_log_profile ON fieldline_run_log (profile_key, id);"
            "INSERT INTO fieldline_run_log (at, profile_key, event_ids, job_ids, action, written)"
            " VALUES (1.0, 'p1', '[\"e1\"]', '[1]', 'create', '{}');"
        )
    connection.close()
    with SQLiteRunStore(path) as store:
        [old] = store.entries(entity="p1")
        assert (old.entity_key, old.source, old.action, old.event_ids) == ("p1", "", "create", ("e1",))
        store.record([RunLogEntry(entity_key="p2", action="update")], source="pf")
        assert [(entry.entity_key, entry.source) for entry in store.entries()] == [("p2", "pf"), ("p1", "")]
        assert [entry.entity_key for entry in store.entries(source="pf")] == ["p2"]


@given(st.lists(st.tuples(st.sampled_from(["p1", "p2"]), st.floats(0, 1e9)), max_size=12))
def test_applied_version_is_the_maximum_ever_recorded(updates: list[tuple[str, float]]) -> None:
    import tempfile

    with (
        tempfile.TemporaryDirectory() as folder,
        SQLiteRunStore(Path(folder) / "s.db", synchronous="OFF") as store,
    ):
        for key, version in updates:
            store.record([], source="s", applied={key: version})
        expected: dict[str, float] = {}
        for key, version in updates:
            expected[key] = max(expected.get(key, version), version)
        assert store.applied_versions("s", ["p1", "p2"]) == expected


def test_entries_newest_first_filtered_and_redacted(tmp_path: Path) -> None:
    with SQLiteRunStore(tmp_path / "s.db", clock=lambda: 1000.0) as store:
        store.record(
            [
                RunLogEntry(entity_key="p1", action="create", written={"Name": "A", "token": "t"}),
                RunLogEntry(entity_key="p2", action="error", error="boom"),
                RunLogEntry(
                    entity_key="p1", action="update", target_id="001", event_ids=("e9",), job_ids=(9,)
                ),
            ]
        )
        newest = store.entries(limit=2)
        assert [entry.action for entry in newest] == ["update", "error"]
        p1 = store.entries(entity="p1")
        assert [entry.action for entry in p1] == ["update", "create"]
        assert p1[1].written == {"Name": "A", "token": REDACTED}
        assert p1[0].as_json() == {
            "id": 3,
            "at": 1000.0,
            "source": "",
            "entity": "p1",
            "event_ids": ["e9"],
            "job_ids": [9],
            "record": None,
            "key": None,
            "object": None,
            "action": "update",
            "target_id": "001",
            "written": {},
            "error": None,
        }


def test_closed_store_refuses_work(tmp_path: Path) -> None:
    store = SQLiteRunStore(tmp_path / "s.db")
    store.close()
    with pytest.raises(QueueError, match="closed"):
        store.entries()


def test_service_purges_old_settled_jobs_and_log_entries(tmp_path: Path) -> None:
    from fieldline.plugins.manager import get_plugin_manager
    from fieldline.queue import JobState, Storage
    from fieldline.service.context import ServiceContext
    from fieldline.spec.model import Spec
    from fieldline.testing.queue_suite import FakeClock
    from tests.service.fakes import event, make_queue

    clock = FakeClock()  # 2023: long before "now"
    queue = make_queue(tmp_path, clock)
    store = SQLiteRunStore(tmp_path / "q.db", clock=clock)
    queue.enqueue([event("old", "p1"), event("waiting", "p2")], source="fake")
    queue.complete(queue.claim("w", limit=1))
    store.record([RunLogEntry(entity_key="p1", action="update")])
    context = ServiceContext(
        specs={"fake": Spec(name="x", records=())},
        plugin_manager=get_plugin_manager(load_entrypoints=False),
        storage=Storage(queue=queue, runs=store, url="sqlite:///q.db"),
    )
    assert context.purge(retention_seconds=86400) == (1, 1)
    assert queue.status().counts == {JobState.TODO: 1}
    assert store.entries() == []
    context.close()


def test_a_closed_run_store_refuses_work_with_a_located_error(tmp_path: Path) -> None:
    store = SQLiteRunStore(tmp_path / "runs.db")
    store.close()
    with pytest.raises(QueueError, match=r"runs\.db: the run log is closed"):
        store.entries()


def test_a_write_the_database_refuses_is_rolled_back_and_located(tmp_path: Path) -> None:
    with SQLiteRunStore(tmp_path / "runs.db") as store:
        with (
            pytest.raises(QueueError, match=r"runs\.db: run log write failed"),
            store._transaction() as connection,
        ):
            connection.execute("INSERT INTO no_such_table VALUES (1)")
        assert not store._connection().in_transaction
        assert store.entries() == []
