"""The write window: several batches' writes applied together, with the same outcome as batch by batch."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pluggy
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from fieldline.adapters.files.target import FilesTarget
from fieldline.contracts import SourceDocument, WriteOperation
from fieldline.errors import TransientAdapterError
from fieldline.spec.model import Spec
from fieldline.sync.runner import OutcomeStage, Runner, RunReport
from tests.runner.test_runner import (
    OBJECTS,
    CountingTarget,
    _documents,
    spec as spec,  # the fixture  # noqa: PLC0414
)


def _state(path: Path) -> dict[str, list[str]]:
    """The files target's records by object, ids (which depend on write order) replaced by what
    they point to: an application's Account by its profile id."""
    data = json.loads(path.read_text()) if path.exists() else {}
    profiles = {account["Id"]: account.get("Profile__c") for account in data.get("Account", [])}
    state: dict[str, list[str]] = {}
    for name, records in data.items():
        state[name] = sorted(
            json.dumps(
                {
                    key: profiles.get(value) if key == "Account__c" else value
                    for key, value in record.items()
                    if key != "Id"
                },
                sort_keys=True,
            )
            for record in records
        )
    return state


def test_writes_of_several_batches_go_in_one_apply_per_record(
    tmp_path: Path, spec: Spec, plugin_manager: pluggy.PluginManager
) -> None:
    target = CountingTarget(FilesTarget(tmp_path / "crm.json", objects=OBJECTS))
    batches: list[RunReport] = []
    report = Runner(spec, target, plugin_manager=plugin_manager, batch_size=2, write_window=1000).sync(
        _documents(5), on_batch=batches.append
    )
    assert report.ok, report.failures
    assert report.counts["create"] == 15
    assert len(target.lookups) == 3, "still planned 2 documents at a time"
    assert [len(writes) for writes in target.applies] == [5, 10], "one apply per spec record"
    accounts = {o.key: o.target_id for o in report.outcomes if o.record == "profile"}
    for outcome in (o for o in report.outcomes if o.record == "app"):
        assert outcome.written["Account__c"] == accounts[outcome.document_key]
    assert sum(len(batch.outcomes) for batch in batches) == 15


def test_a_full_window_is_written_before_the_next_batch(
    tmp_path: Path, spec: Spec, plugin_manager: pluggy.PluginManager
) -> None:
    target = CountingTarget(FilesTarget(tmp_path / "crm.json", objects=OBJECTS))
    runner = Runner(spec, target, plugin_manager=plugin_manager, batch_size=2, write_window=6)
    report = runner.sync(_documents(5))
    assert report.ok
    assert report.counts["create"] == 15
    # 6 writes a batch of 2 documents: the window is full after each batch but the last
    assert [len(writes) for writes in target.applies] == [2, 4, 2, 4, 1, 2]


def test_unchanged_records_are_reported_as_they_are_planned(
    tmp_path: Path, spec: Spec, plugin_manager: pluggy.PluginManager
) -> None:
    Runner(spec, FilesTarget(tmp_path / "crm.json", objects=OBJECTS), plugin_manager=plugin_manager).sync(
        _documents(2)
    )
    documents = _documents(4)
    target = CountingTarget(FilesTarget(tmp_path / "crm.json", objects=OBJECTS))
    seen: list[list[str]] = []
    runner = Runner(spec, target, plugin_manager=plugin_manager, batch_size=2, write_window=1000)
    report = runner.sync(documents, on_batch=lambda batch: seen.append([o.action for o in batch.outcomes]))
    assert report.counts["noop"] == 6
    assert report.counts["create"] == 6
    assert seen[0] == ["noop"] * 6, "the first batch's noops come before any write"
    assert seen[-1] == ["create"] * 6


def test_a_batch_matching_a_pending_create_waits_for_it(
    tmp_path: Path, spec: Spec, plugin_manager: pluggy.PluginManager
) -> None:
    """The same profile in two batches: created once, then found (not created twice)."""
    documents = [*_documents(2), _documents(1)[0]]
    target = CountingTarget(FilesTarget(tmp_path / "crm.json", objects=OBJECTS))
    runner = Runner(spec, target, plugin_manager=plugin_manager, batch_size=2, write_window=1000)
    report = runner.sync(documents)
    assert report.ok, report.failures
    assert report.counts["create"] == 6
    assert report.counts["noop"] == 3
    data = json.loads((tmp_path / "crm.json").read_text())
    assert len(json.dumps(data).split('"p0"')) - 1 == 1, "one Account for p0"
    # the window was written before the repeat was planned again
    assert [len(writes) for writes in target.applies] == [2, 4]


def test_a_batch_matching_a_pending_update_waits_for_it(
    tmp_path: Path, spec: Spec, plugin_manager: pluggy.PluginManager
) -> None:
    Runner(spec, FilesTarget(tmp_path / "crm.json", objects=OBJECTS), plugin_manager=plugin_manager).sync(
        _documents(1)
    )
    renamed = SourceDocument(key="p0", data={**_documents(1)[0].data, "name": "Renamed"})
    again = SourceDocument(key="p0-again", data={**_documents(1)[0].data, "name": "Renamed twice"})
    target = CountingTarget(FilesTarget(tmp_path / "crm.json", objects=OBJECTS))
    runner = Runner(spec, target, plugin_manager=plugin_manager, batch_size=1, write_window=1000)
    report = runner.sync([renamed, again])
    assert report.ok, report.failures
    assert report.counts["update"] == 2
    assert "Renamed twice" in (tmp_path / "crm.json").read_text()


def test_a_stop_while_writing_the_window_marks_the_rest_not_sent(
    tmp_path: Path, spec: Spec, plugin_manager: pluggy.PluginManager
) -> None:
    target = CountingTarget(FilesTarget(tmp_path / "crm.json", objects=OBJECTS), budget=3)
    runner = Runner(spec, target, plugin_manager=plugin_manager, batch_size=2, write_window=1000)
    report = runner.sync(_documents(4))
    assert report.stopped is not None
    assert report.counts["create"] == 3
    stopped = [o for o in report.outcomes if o.stage is OutcomeStage.STOPPED]
    assert len(stopped) == 9
    assert all(o.retriable for o in stopped)


def test_targets_without_a_window_apply_each_batch(
    tmp_path: Path, spec: Spec, plugin_manager: pluggy.PluginManager
) -> None:
    target = CountingTarget(FilesTarget(tmp_path / "crm.json", objects=OBJECTS))
    assert Runner(spec, target, plugin_manager=plugin_manager).write_window == 0
    Runner(spec, target, plugin_manager=plugin_manager, batch_size=2).sync(_documents(3))
    assert len(target.applies) == 4


_profile = st.fixed_dictionaries(
    {
        "id": st.sampled_from(["p0", "p1", "p2", "p3", "P1"]),
        "name": st.sampled_from(["A", "B"]),
        "apps": st.lists(
            st.fixed_dictionaries(
                {"id": st.sampled_from(["a0", "a1", "a2", "A2"]), "status": st.sampled_from(["NEW", "OK"])}
            ),
            max_size=2,
        ),
    }
)


@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])  # fixtures immutable
@given(
    profiles=st.lists(_profile, max_size=8),
    existing=st.lists(_profile, max_size=3),
    batch_size=st.integers(1, 4),
    window=st.integers(1, 20),
)
def test_a_window_ends_where_batch_by_batch_does(  # noqa: PLR0917 (hypothesis passes them so)
    tmp_path_factory: Any,
    spec: Spec,
    plugin_manager: pluggy.PluginManager,
    profiles: list[dict[str, Any]],
    existing: list[dict[str, Any]],
    batch_size: int,
    window: int,
) -> None:
    """Whatever the input (repeated profiles and applications, case variants), gathering writes
    leaves the target as applying each batch does, with the same outcome counts."""
    ends = []
    for gathered in (0, window):
        path = tmp_path_factory.mktemp("window") / "crm.json"
        seed = [SourceDocument(key=f"e{n}", data=data) for n, data in enumerate(existing)]
        seeding = FilesTarget(path, objects=OBJECTS)
        Runner(spec, seeding, plugin_manager=plugin_manager).sync(seed)
        seeding.close()
        documents = [SourceDocument(key=f"d{n}", data=data) for n, data in enumerate(profiles)]
        target = FilesTarget(path, objects=OBJECTS)
        runner = Runner(
            spec, target, plugin_manager=plugin_manager, batch_size=batch_size, write_window=gathered
        )
        report = runner.sync(documents)
        target.close()  # the files target writes its state file whole at the end
        ends.append((_state(path), report.counts))
    assert ends[0] == ends[1]


def test_upserts_keep_going_through_the_window(
    tmp_path: Path, spec: Spec, plugin_manager: pluggy.PluginManager
) -> None:
    target = CountingTarget(FilesTarget(tmp_path / "crm.json", objects=OBJECTS))
    Runner(spec, target, plugin_manager=plugin_manager, batch_size=1, write_window=50).sync(_documents(2))
    assert {w.operation for writes in target.applies for w in writes} == {WriteOperation.UPSERT}


def test_a_failure_reading_a_later_batch_still_sends_what_was_planned(
    tmp_path: Path, spec: Spec, plugin_manager: pluggy.PluginManager
) -> None:
    def documents() -> Iterator[SourceDocument]:
        yield from _documents(4)
        raise TransientAdapterError("the source went away", hint="run sync again")

    target = CountingTarget(FilesTarget(tmp_path / "crm.json", objects=OBJECTS))
    batches: list[RunReport] = []
    runner = Runner(spec, target, plugin_manager=plugin_manager, batch_size=2, write_window=1000)
    with pytest.raises(TransientAdapterError, match="went away"):
        runner.sync(documents(), on_batch=batches.append)
    assert [len(writes) for writes in target.applies] == [4, 8], "the two planned batches were written"
    assert sum(len(batch.outcomes) for batch in batches) == 12
