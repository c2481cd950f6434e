"""The run log and sync state on PostgreSQL (mirrors tests/service/test_store.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from fieldline.errors import QueueError
from fieldline.queue.postgres_db import PostgresDatabase
from fieldline.queue.postgres_run_store import PostgresRunStore
from fieldline.queue.run_store import REDACTED, RunLogEntry
from tests.postgres import new_schema


def _store(url: str, clock: float | None = None) -> PostgresRunStore:
    database = PostgresDatabase(url, pool_min=1, pool_max=2)
    if clock is None:
        return PostgresRunStore(database)
    return PostgresRunStore(database, clock=lambda: clock)


@pytest.fixture
def store(pg_url: str) -> Iterator[PostgresRunStore]:
    opened = _store(pg_url)
    yield opened
    opened.close()


def test_applied_versions_only_move_forward(store: PostgresRunStore) -> None:
    store.record([], source="pf", applied={"profile:p1": 10.0, "application:a1": 10.0})
    store.record([], source="pf", applied={"profile:p1": 5.0, "profile:p2": 7.0, "application:a1": 3.0})
    keys = ["profile:p1", "profile:p2", "profile:p3", "application:a1", "application:a2"]
    assert store.applied_versions("pf", keys) == {
        "profile:p1": 10.0,
        "profile:p2": 7.0,
        "application:a1": 10.0,
    }
    assert store.applied_versions("pf", []) == {}


def test_applied_versions_are_kept_apart_per_source(store: PostgresRunStore) -> None:
    store.record([], source="pf", applied={"k": 10.0})
    store.record([], source="app", applied={"k": 2.0})
    assert store.applied_versions("pf", ["k"]) == {"k": 10.0}
    assert store.applied_versions("app", ["k"]) == {"k": 2.0}
    assert store.applied_versions("other", ["k"]) == {}


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(updates=st.lists(st.tuples(st.sampled_from(["p1", "p2"]), st.floats(0, 1e9)), max_size=12))
def test_applied_version_is_the_maximum_ever_recorded(
    pg_server_url: str, updates: list[tuple[str, float]]
) -> None:
    store = _store(new_schema(pg_server_url))
    try:
        for key, version in updates:
            store.record([], source="s", applied={key: version})
        expected: dict[str, float] = {}
        for key, version in updates:
            expected[key] = max(expected.get(key, version), version)
        assert store.applied_versions("s", ["p1", "p2"]) == expected
    finally:
        store.close()


def test_entries_newest_first_filtered_and_redacted(pg_url: str) -> None:
    store = _store(pg_url, clock=1000.0)
    try:
        store.record(
            [
                RunLogEntry(entity_key="p1", action="create", written={"Name": "A", "token": "t"}),
                RunLogEntry(entity_key="p2", action="error", error="boom"),
                RunLogEntry(
                    entity_key="p1", action="update", target_id="001", event_ids=("e9",), job_ids=(9,)
                ),
            ],
            source="pf",
        )
        newest = store.entries(limit=2)
        assert [entry.action for entry in newest] == ["update", "error"]
        p1 = store.entries(entity="p1")
        assert [entry.action for entry in p1] == ["update", "create"]
        assert p1[1].written == {"Name": "A", "token": REDACTED}
        assert p1[0].as_json() == {
            "id": 3,
            "at": 1000.0,
            "source": "pf",
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
        assert [entry.entity_key for entry in store.entries(source="pf", entity="p2")] == ["p2"]
        assert store.entries(source="other") == []
    finally:
        store.close()


def test_purge_forgets_old_entries_and_keeps_versions(pg_url: str) -> None:
    store = _store(pg_url, clock=1000.0)
    try:
        store.record([RunLogEntry(entity_key="p1", action="update")], source="pf", applied={"p1": 4.0})
        store.record([RunLogEntry(entity_key="p2", action="update", at=2000.0)], source="pf")
        assert store.purge(1500.0) == 1
        assert [entry.entity_key for entry in store.entries()] == ["p2"]
        assert store.applied_versions("pf", ["p1"]) == {"p1": 4.0}
    finally:
        store.close()


def test_a_closed_run_store_refuses_work_with_a_located_error(pg_url: str) -> None:
    store = _store(pg_url)
    store.close()
    with pytest.raises(QueueError, match=r"127\.0\.0\.1.*closed"):
        store.entries()


def test_a_write_the_database_refuses_is_rolled_back_and_located(store: PostgresRunStore) -> None:
    with (
        pytest.raises(QueueError, match=r"127\.0\.0\.1.*run log write failed"),
        store.database.transaction("run log write") as connection,
    ):
        connection.execute("INSERT INTO fieldline_run_log (at) VALUES (1)")  # misses NOT NULL columns
    assert store.entries() == []
    store.record([RunLogEntry(entity_key="p1", action="update")])
    assert len(store.entries()) == 1, "the pool's connection is usable again"
