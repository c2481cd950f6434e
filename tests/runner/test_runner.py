"""The runner: batched lookups, parents before children, upserts by external id, failures kept."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pluggy
import pytest

from fieldline.adapters.files.target import FilesTarget
from fieldline.contracts import (
    ApplyResult,
    LookupRequest,
    LookupResult,
    ObjectDescription,
    SourceDocument,
    Stop,
    StopReason,
    TargetBase,
    Write,
    WriteError,
    WriteOperation,
    WriteResult,
)
from fieldline.errors import BudgetExhaustedError, FieldlineError
from fieldline.expressions.compiled import compile_expression
from fieldline.planning.plans import Action
from fieldline.plugins.manager import function_registry
from fieldline.spec.model import FieldSpec, MatchRule, RecordSpec, Spec, Strategy
from fieldline.sync.runner import OutcomeStage, Runner, RunReport

OBJECTS = {
    "Account": {"fields": {"Name": {"required": True}, "Profile__c": {"external_id": True}}},
    "App__c": {
        "fields": {
            "App_Id__c": {"external_id": True},
            "Status__c": "string",
            "Account__c": {"type": "reference", "reference_to": ["Account"]},
        }
    },
}


class CountingTarget(TargetBase):
    """Wraps a target and records every call, to assert how the runner batches.

    ``budget``: how many writes it sends before stopping, as an API budget would.
    """

    def __init__(
        self, inner: FilesTarget, *, refuse: set[str] | None = None, budget: int | None = None
    ) -> None:
        self.inner = inner
        self.name = "counting"
        self.lookups: list[int] = []
        self.applies: list[list[Write]] = []
        self.refuse = refuse or set()
        self.budget = budget

    def describe(self, object_name: str) -> ObjectDescription:
        return self.inner.describe(object_name)

    def lookup(self, requests: Sequence[LookupRequest]) -> LookupResult:
        self.lookups.append(len(requests))
        return self.inner.lookup(requests)

    def apply(self, writes: Sequence[Write]) -> ApplyResult:
        self.applies.append(list(writes))
        stopped = None
        if self.budget is not None and len(writes) > self.budget:
            writes = writes[: self.budget]
            stopped = Stop(StopReason.BUDGET, "this run used its API budget: 3 of 3 calls")
        if self.budget is not None:
            self.budget -= len(writes)
        refused = [w for w in writes if w.key in self.refuse]
        sent = self.inner.apply([w for w in writes if w.key not in self.refuse])
        results = {r.key: r for r in sent.results}
        for write in refused:
            results[write.key] = WriteResult(
                write.key, ok=False, error=WriteError("UNABLE_TO_LOCK_ROW", "locked", retriable=True)
            )
        return ApplyResult(tuple(results[write.key] for write in writes), stopped=stopped)

    def close(self) -> None:
        self.inner.close()


@pytest.fixture
def spec(plugin_manager: pluggy.PluginManager) -> Spec:
    registry = function_registry(plugin_manager)

    def expr(text: str) -> Any:
        return compile_expression(text, registry)

    return Spec(
        name="runner-test",
        records=(
            RecordSpec(
                name="profile",
                object="Account",
                match=(MatchRule(field="Profile__c", value=expr("id")),),
                fields=(
                    FieldSpec(name="Profile__c", value=expr("id")),
                    FieldSpec(name="Name", value=expr("name")),
                ),
            ),
            RecordSpec(
                name="app",
                object="App__c",
                for_each=expr("apps"),
                match=(MatchRule(field="App_Id__c", value=expr("id")),),
                fields=(
                    FieldSpec(name="App_Id__c", value=expr("id")),
                    FieldSpec(name="Status__c", value=expr("status")),
                    FieldSpec(name="Account__c", ref="profile"),
                ),
            ),
        ),
    )


def _documents(count: int) -> list[SourceDocument]:
    return [
        SourceDocument(
            key=f"p{n}",
            data={
                "id": f"p{n}",
                "name": f"Company {n}",
                "apps": [{"id": f"a{n}-{i}", "status": "NEW"} for i in range(2)],
            },
        )
        for n in range(count)
    ]


def test_parents_are_written_first_and_children_get_their_ids(
    tmp_path: Path, spec: Spec, plugin_manager: pluggy.PluginManager
) -> None:
    target = CountingTarget(FilesTarget(tmp_path / "crm.json", objects=OBJECTS))
    report = Runner(spec, target, plugin_manager=plugin_manager, batch_size=10).sync(_documents(3))
    assert report.ok, report.failures
    assert report.counts["create"] == 9
    accounts = {o.key: o.target_id for o in report.outcomes if o.record == "profile"}
    for outcome in (o for o in report.outcomes if o.record == "app"):
        assert outcome.written["Account__c"] == accounts[outcome.document_key]
    # one lookup round and one apply per spec record for the single batch
    assert len(target.lookups) == 1
    assert [len(writes) for writes in target.applies] == [3, 6]
    # creates whose match field is an external id go as upserts (safe to repeat after a crash)
    assert {w.operation for writes in target.applies for w in writes} == {WriteOperation.UPSERT}


def test_resync_of_unchanged_data_writes_nothing(
    tmp_path: Path, spec: Spec, plugin_manager: pluggy.PluginManager
) -> None:
    files = FilesTarget(tmp_path / "crm.json", objects=OBJECTS)
    Runner(spec, files, plugin_manager=plugin_manager).sync(_documents(4))
    target = CountingTarget(FilesTarget(tmp_path / "crm.json", objects=OBJECTS))
    report = Runner(spec, target, plugin_manager=plugin_manager).sync(_documents(4))
    assert report.ok
    assert report.counts["noop"] == 12
    assert target.applies == []


def test_batches_bound_lookups_and_writes(
    tmp_path: Path, spec: Spec, plugin_manager: pluggy.PluginManager
) -> None:
    target = CountingTarget(FilesTarget(tmp_path / "crm.json", objects=OBJECTS))
    Runner(spec, target, plugin_manager=plugin_manager, batch_size=2).sync(_documents(5))
    assert len(target.lookups) == 3
    assert len(target.applies) == 6


def test_a_failed_parent_fails_its_children_with_the_reason(
    tmp_path: Path, spec: Spec, plugin_manager: pluggy.PluginManager
) -> None:
    target = CountingTarget(FilesTarget(tmp_path / "crm.json", objects=OBJECTS), refuse={"profile:p1"})
    report = Runner(spec, target, plugin_manager=plugin_manager).sync(_documents(2))
    failed = {(o.record, o.key): o for o in report.failures}
    assert set(failed) == {("profile", "p1"), ("app", "p1[0]"), ("app", "p1[1]")}
    assert failed[("profile", "p1")].error == "UNABLE_TO_LOCK_ROW: locked"
    assert failed[("profile", "p1")].retriable
    assert failed[("app", "p1[0]")].stage == "parent"
    assert failed[("app", "p1[0]")].retriable, "a child of a retriable failure is retriable too"
    assert report.retriable_failures == report.failures
    # the children of the refused parent were never sent
    assert all(not w.key.startswith("app:p1[") for w in target.applies[1])


def test_plan_is_a_dry_run(tmp_path: Path, spec: Spec, plugin_manager: pluggy.PluginManager) -> None:
    target = CountingTarget(FilesTarget(tmp_path / "crm.json", objects=OBJECTS))
    plan = Runner(spec, target, plugin_manager=plugin_manager).dry_run(_documents(2))
    assert plan.counts()["create"] == 6
    assert plan.find("app", "p0[1]") is not None
    assert target.applies == []
    assert not (tmp_path / "crm.json").exists()


def test_a_target_that_loses_results_is_reported(
    tmp_path: Path, spec: Spec, plugin_manager: pluggy.PluginManager
) -> None:
    class Lossy(CountingTarget):
        def apply(self, writes: Sequence[Write]) -> ApplyResult:
            return ApplyResult(super().apply(writes).results[:-1])

    runner = Runner(
        spec, Lossy(FilesTarget(tmp_path / "crm.json", objects=OBJECTS)), plugin_manager=plugin_manager
    )
    with pytest.raises(FieldlineError, match="returned 1 results for 2 writes"):
        runner.sync(_documents(2))


def test_a_target_that_stops_with_results_out_of_order_is_reported(
    tmp_path: Path, spec: Spec, plugin_manager: pluggy.PluginManager
) -> None:
    class Shuffled(CountingTarget):
        def apply(self, writes: Sequence[Write]) -> ApplyResult:
            applied = super().apply(writes)
            return replace(applied, results=applied.results[::-1])

    target = Shuffled(FilesTarget(tmp_path / "crm.json", objects=OBJECTS), budget=2)
    runner = Runner(spec, target, plugin_manager=plugin_manager)
    with pytest.raises(FieldlineError, match="not its writes' keys in request order"):
        runner.sync(_documents(3))


def test_error_records_are_reported_not_written(
    tmp_path: Path, spec: Spec, plugin_manager: pluggy.PluginManager
) -> None:
    documents = [SourceDocument(key="bad", data={"id": "bad", "name": "B", "apps": "not a list"})]
    target = CountingTarget(FilesTarget(tmp_path / "crm.json", objects=OBJECTS))
    report = Runner(spec, target, plugin_manager=plugin_manager).sync(documents)
    errors = [o for o in report.outcomes if o.action is Action.ERROR]
    assert errors
    assert all(o.stage == "plan" and o.error for o in errors)


def test_a_record_that_would_duplicate_an_earlier_records_create_waits_for_it(
    tmp_path: Path, plugin_manager: pluggy.PluginManager
) -> None:
    # a primary contact and a list of people, on one object, matched on the same email
    registry = function_registry(plugin_manager)

    def expr(text: str) -> Any:
        return compile_expression(text, registry)

    spec = Spec(
        name="contacts",
        records=(
            RecordSpec(
                name="primary",
                object="Contact",
                match=(MatchRule(field="Email", value=expr("contact.email"), normalize=("email",)),),
                fields=(
                    FieldSpec(name="Email", value=expr("contact.email")),
                    FieldSpec(name="LastName", value=expr("contact.last")),
                ),
            ),
            RecordSpec(
                name="people",
                object="Contact",
                for_each=expr("people"),
                match=(MatchRule(field="Email", value=expr("email"), normalize=("email",)),),
                fields=(
                    # match keys are written once (docs/planning.md)
                    FieldSpec(name="Email", value=expr("email"), strategy=Strategy.IF_EMPTY),
                    FieldSpec(name="Title", value=expr("title")),
                ),
            ),
            RecordSpec(
                name="note",
                object="Note__c",
                for_each=expr("people"),
                match=(MatchRule(field="Key__c", value=expr("email")),),
                fields=(
                    FieldSpec(name="Key__c", value=expr("email")),
                    FieldSpec(name="Contact__c", ref="people"),
                ),
            ),
        ),
    )
    objects = {
        "Contact": {"fields": {"Email": "string", "LastName": "string", "Title": "string"}},
        "Note__c": {
            "fields": {"Key__c": "string", "Contact__c": {"type": "reference", "reference_to": ["Contact"]}}
        },
    }
    document = SourceDocument(
        key="d1",
        data={
            "contact": {"email": "Ann@x.io", "last": "Lee"},
            "people": [{"email": "ann@x.io", "title": "CFO"}, {"email": "bob@x.io", "title": "CTO"}],
        },
    )
    target = CountingTarget(FilesTarget(tmp_path / "crm.json", objects=objects))
    runner = Runner(spec, target, plugin_manager=plugin_manager)

    planned = runner.dry_run([document])
    waiting = planned.find("people", "d1[0]")
    assert waiting is not None
    assert (waiting.action, waiting.waits_for) == (Action.SKIP, "primary d1")
    assert "waits for primary d1, which creates this Contact (Email = 'ann@x.io')" in waiting.reasons[0]

    report = runner.sync([document])
    assert report.ok, report.failures
    target.close()  # the state file is written when the target closes
    stored = json.loads((tmp_path / "crm.json").read_text())
    contacts = {
        record["Email"]: [r for r in stored["Contact"] if r["Email"] == record["Email"]]
        for record in stored["Contact"]
    }
    assert sorted(contacts) == ["Ann@x.io", "bob@x.io"], "one Contact per person, no duplicate"
    [ann] = contacts["Ann@x.io"]
    assert (ann["LastName"], ann["Title"]) == ("Lee", "CFO")
    outcome = {(o.record, o.key): o for o in report.outcomes}
    assert outcome[("people", "d1[0]")].action is Action.UPDATE
    assert outcome[("people", "d1[0]")].target_id == ann["Id"]
    assert outcome[("note", "d1[0]")].written["Contact__c"] == ann["Id"]
    assert all(record.action is Action.NOOP for record in runner.dry_run([document]).records)


def test_plan_shows_what_sync_does_across_batches(
    tmp_path: Path, plugin_manager: pluggy.PluginManager
) -> None:
    # the same person twice, in different batches: sync creates once, then updates
    registry = function_registry(plugin_manager)
    spec = Spec(
        name="people",
        records=(
            RecordSpec(
                name="person",
                object="Contact",
                match=(
                    MatchRule(
                        field="Email", value=compile_expression("email", registry), normalize=("email",)
                    ),
                ),
                fields=(
                    FieldSpec(
                        name="Email", value=compile_expression("email", registry), strategy=Strategy.IF_EMPTY
                    ),
                    FieldSpec(name="Title", value=compile_expression("title", registry)),
                ),
            ),
        ),
    )
    documents = [
        SourceDocument(key="d1", data={"email": "A@x.io", "title": "CFO"}),
        SourceDocument(key="d2", data={"email": "a@x.io ", "title": "CEO"}),
        SourceDocument(key="d3", data={"email": "b@x.io", "title": "CTO"}),
        SourceDocument(key="d4", data={"email": "b@x.io", "title": "CTO"}),
    ]
    objects = {"Contact": {"fields": {"Email": "string", "Title": "string"}}}
    target = FilesTarget(tmp_path / "crm.json", objects=objects)
    runner = Runner(spec, target, plugin_manager=plugin_manager, batch_size=1)

    planned = runner.dry_run(documents)
    assert [record.action for record in planned.records] == [
        Action.CREATE,
        Action.UPDATE,
        Action.CREATE,
        Action.NOOP,
    ]
    assert planned.records[1].target_id == "(planned person d1)"
    assert planned.records[1].writes == {"Title": "CEO"}

    report = runner.sync(documents)
    assert [outcome.action for outcome in report.outcomes] == [record.action for record in planned.records]
    assert report.ok, report.failures


def test_sync_counts_unplannable_records_as_errors_and_refused_writes_as_failed(
    tmp_path: Path, spec: Spec, plugin_manager: pluggy.PluginManager
) -> None:
    documents = _documents(2)
    documents[0].data["apps"] = "not a list"  # for_each over a string: the apps cannot be planned
    target = CountingTarget(FilesTarget(tmp_path / "crm.json", objects=OBJECTS), refuse={"app:p1[0]"})
    report = Runner(spec, target, plugin_manager=plugin_manager).sync(documents)
    counts = report.counts
    assert counts["error"] == 1, report.failures  # p0's apps: as `plan` would say
    assert counts["failed"] == 1, report.failures  # p1's first app: the target refused it
    assert counts["create"] == 3


# --- stops: the budget runs out; what was done comes back as a value -------------------------------


def _stopped_keys(report: RunReport) -> list[str]:
    return [f"{o.record}:{o.key}" for o in report.outcomes if o.stage is OutcomeStage.STOPPED]


def test_a_budget_used_up_before_the_first_write_stops_with_nothing_written(
    tmp_path: Path, spec: Spec, plugin_manager: pluggy.PluginManager
) -> None:
    target = CountingTarget(FilesTarget(tmp_path / "crm.json", objects=OBJECTS), budget=0)
    report = Runner(spec, target, plugin_manager=plugin_manager).sync(_documents(2))
    assert report.stopped is not None
    assert report.stopped.reason is StopReason.BUDGET
    assert _stopped_keys(report) == [
        "profile:p0",
        "profile:p1",
        "app:p0[0]",
        "app:p0[1]",
        "app:p1[0]",
        "app:p1[1]",
    ]
    assert all(o.retriable and o.error and "not sent" in o.error for o in report.outcomes)
    assert [len(writes) for writes in target.applies] == [2], "the children were never sent"
    assert report.finished_documents() == set()
    assert not (tmp_path / "crm.json").exists()


def test_a_budget_used_up_mid_batch_reports_what_was_written(
    tmp_path: Path, spec: Spec, plugin_manager: pluggy.PluginManager
) -> None:
    files = FilesTarget(tmp_path / "crm.json", objects=OBJECTS)
    target = CountingTarget(files, budget=3)  # both profiles, then one app
    report = Runner(spec, target, plugin_manager=plugin_manager).sync(_documents(2))
    assert report.stopped is not None
    by_slot = {(o.record, o.key): o for o in report.outcomes}
    assert [by_slot[("profile", key)].action for key in ("p0", "p1")] == [Action.CREATE, Action.CREATE]
    assert all(by_slot[("profile", key)].ok for key in ("p0", "p1"))
    assert by_slot[("app", "p0[0]")].ok
    assert by_slot[("app", "p0[0]")].target_id is not None
    assert _stopped_keys(report) == ["app:p0[1]", "app:p1[0]", "app:p1[1]"]
    assert by_slot[("app", "p0[1]")].written == {}
    assert (report.counts["create"], report.counts["failed"], report.counts["not_sent"]) == (3, 0, 3)
    assert report.finished_documents() == set(), "each profile still has an app not sent"
    files.close()
    stored = json.loads((tmp_path / "crm.json").read_text())
    assert [record["App_Id__c"] for record in stored["App__c"]] == ["a0-0"], "written once, reported"


def test_a_stop_in_a_later_batch_keeps_the_earlier_batches_and_reads_no_further(
    tmp_path: Path, spec: Spec, plugin_manager: pluggy.PluginManager
) -> None:
    target = CountingTarget(FilesTarget(tmp_path / "crm.json", objects=OBJECTS), budget=4)
    read: list[str] = []

    def documents() -> Iterator[SourceDocument]:
        for document in _documents(5):
            read.append(document.key)
            yield document

    batches: list[RunReport] = []
    report = Runner(spec, target, plugin_manager=plugin_manager, batch_size=1).sync(
        documents(), on_batch=batches.append
    )
    assert report.stopped is not None
    assert report.stopped.reason is StopReason.BUDGET
    assert read == ["p0", "p1"], "no document after the stopping batch is read"
    assert [batch.stopped is None for batch in batches] == [True, False]
    assert report.finished_documents() == {"p0"}
    assert [o.key for o in report.outcomes if o.ok] == ["p0", "p0[0]", "p0[1]", "p1"]
    assert _stopped_keys(report) == ["app:p1[0]", "app:p1[1]"]


def test_a_budget_used_up_by_a_later_batchs_lookup_stops_before_it_writes(
    tmp_path: Path, spec: Spec, plugin_manager: pluggy.PluginManager
) -> None:
    class LookupBudget(CountingTarget):
        def lookup(self, requests: Sequence[LookupRequest]) -> LookupResult:
            if self.lookups:
                raise BudgetExhaustedError(
                    "Salesforce refused lookup Account: the org's API request limit is exceeded",
                    reason=StopReason.DAILY_LIMIT,
                    retry_after=30.0,
                )
            return super().lookup(requests)

    target = LookupBudget(FilesTarget(tmp_path / "crm.json", objects=OBJECTS))
    report = Runner(spec, target, plugin_manager=plugin_manager, batch_size=1).sync(_documents(3))
    assert report.stopped == Stop(
        StopReason.DAILY_LIMIT,
        "Salesforce refused lookup Account: the org's API request limit is exceeded",
        retry_after=30.0,
    )
    assert {o.document_key for o in report.outcomes} == {"p0"}
    assert report.ok, "the first batch was written; the second was never planned"
    assert len(target.applies) == 2


def test_a_source_out_of_budget_while_reading_stops_after_syncing_what_it_read(
    tmp_path: Path, spec: Spec, plugin_manager: pluggy.PluginManager
) -> None:
    def read() -> Iterator[SourceDocument]:
        yield from _documents(3)
        raise BudgetExhaustedError("PassFort: chargeable limit reached (104)", reason=StopReason.DAILY_LIMIT)

    target = FilesTarget(tmp_path / "crm.json", objects=OBJECTS)
    report = Runner(spec, target, plugin_manager=plugin_manager, batch_size=2).sync(read())
    assert report.stopped is not None
    assert report.stopped.reason is StopReason.DAILY_LIMIT
    assert "chargeable limit" in report.stopped.message
    assert report.ok, report.failures
    assert sorted({outcome.document_key for outcome in report.outcomes}) == [
        document.key for document in _documents(3)
    ], "the documents read before the stop, the half-full batch too, are synced"


def test_a_streaming_sync_keeps_a_bounded_summary_and_hands_every_outcome_to_on_batch(
    tmp_path: Path, spec: Spec, plugin_manager: pluggy.PluginManager
) -> None:
    refused = {f"profile:p{n}" for n in range(0, 12, 2)}
    target = CountingTarget(FilesTarget(tmp_path / "crm.json", objects=OBJECTS), refuse=refused)
    handed: list[int] = []
    report = Runner(spec, target, plugin_manager=plugin_manager, batch_size=3).sync(
        _documents(12), on_batch=lambda batch: handed.append(len(batch.outcomes)), keep_outcomes=False
    )
    assert report.outcomes == []
    assert report.plans == []
    assert sum(handed) == 36  # 12 profiles and their 24 apps, every one handed out
    assert report.counts["create"] == 18
    assert report.counts["failed"] == 18  # 6 refused profiles and their 12 apps
    assert report.failed_count == 18
    assert len(report.failures) == 18  # under the default bound
    assert not report.ok
    bounded = RunReport.streaming(keep=4)
    kept = Runner(spec, CountingTarget(FilesTarget(tmp_path / "b.json", objects=OBJECTS), refuse=refused))
    bounded.extend(kept.sync(_documents(12)))
    assert bounded.failed_count == 18
    assert len(bounded.failures) == 4  # the first four, the rest counted
    assert (bounded.counts["failed"], bounded.counts["create"]) == (18, 18)
