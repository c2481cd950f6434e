"""The run log and sync state: versions only move forward, secrets never stored."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fieldline.config import Secret
from fieldline.errors import QueueError
from fieldline.queue.run_store import REDACTED, RunLogEntry, RunStore, redact


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


def test_applied_versions_only_move_forward(tmp_path: Path) -> None:
    with RunStore(tmp_path / "s.db") as store:
        store.record([], applied={"p1": 10.0}, applications={"a1": ("p1", 10.0)})
        store.record([], applied={"p1": 5.0, "p2": 7.0}, applications={"a1": ("p1", 3.0)})
        assert store.applied_versions(["p1", "p2", "p3"]) == {"p1": 10.0, "p2": 7.0}
        assert store.application_version("a1") == 10.0
        assert store.application_version("a2") is None
        assert store.applied_versions([]) == {}


@given(st.lists(st.tuples(st.sampled_from(["p1", "p2"]), st.floats(0, 1e9)), max_size=12))
def test_applied_version_is_the_maximum_ever_recorded(updates: list[tuple[str, float]]) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as folder, RunStore(Path(folder) / "s.db", synchronous="OFF") as store:
        for key, version in updates:
            store.record([], applied={key: version})
        expected: dict[str, float] = {}
        for key, version in updates:
            expected[key] = max(expected.get(key, version), version)
        assert store.applied_versions(["p1", "p2"]) == expected


def test_entries_newest_first_filtered_and_redacted(tmp_path: Path) -> None:
    with RunStore(tmp_path / "s.db", clock=lambda: 1000.0) as store:
        store.record(
            [
                RunLogEntry(profile_key="p1", action="create", written={"Name": "A", "token": "t"}),
                RunLogEntry(profile_key="p2", action="error", error="boom"),
                RunLogEntry(
                    profile_key="p1", action="update", target_id="001", event_ids=("e9",), job_ids=(9,)
                ),
            ]
        )
        newest = store.entries(limit=2)
        assert [entry.action for entry in newest] == ["update", "error"]
        p1 = store.entries(profile="p1")
        assert [entry.action for entry in p1] == ["update", "create"]
        assert p1[1].written == {"Name": "A", "token": REDACTED}
        assert p1[0].as_json() == {
            "id": 3,
            "at": 1000.0,
            "profile": "p1",
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
    store = RunStore(tmp_path / "s.db")
    store.close()
    with pytest.raises(QueueError, match="closed"):
        store.entries()


def test_service_purges_old_settled_jobs_and_log_entries(tmp_path: Path) -> None:
    from fieldline.plugins.manager import get_plugin_manager
    from fieldline.queue import JobState
    from fieldline.service.context import ServiceContext
    from fieldline.spec.model import Spec
    from fieldline.testing.queue_suite import FakeClock
    from tests.service.fakes import event, make_queue

    clock = FakeClock()  # 2023: long before "now"
    queue = make_queue(tmp_path, clock)
    store = RunStore(tmp_path / "q.db", clock=clock)
    queue.enqueue([event("old", "p1"), event("waiting", "p2")], source="fake")
    queue.complete(queue.claim("w", limit=1))
    store.record([RunLogEntry(profile_key="p1", action="update")])
    context = ServiceContext(
        spec=Spec(name="x", records=()),
        plugin_manager=get_plugin_manager(load_entrypoints=False),
        queue=queue,
        store=store,
    )
    assert context.purge(retention_seconds=86400) == (1, 1)
    assert queue.status().counts == {JobState.TODO: 1}
    assert store.entries() == []
    context.close()


def test_a_closed_run_store_refuses_work_with_a_located_error(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "runs.db")
    store.close()
    with pytest.raises(QueueError, match=r"runs\.db: the run log is closed"):
        store.entries()


def test_a_write_the_database_refuses_is_rolled_back_and_located(tmp_path: Path) -> None:
    with RunStore(tmp_path / "runs.db") as store:
        with (
            pytest.raises(QueueError, match=r"runs\.db: run log write failed"),
            store._transaction() as connection,
        ):
            connection.execute("INSERT INTO no_such_table VALUES (1)")
        assert not store._connection().in_transaction
        assert store.entries() == []
