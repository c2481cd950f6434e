"""Properties of evaluate + plan over random specs, documents and existing states."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

from hypothesis import HealthCheck, given, settings, strategies as st

from fieldline.contracts import LookupResult, SourceDocument
from fieldline.errors import FieldlineError
from fieldline.planning.evaluation import evaluate
from fieldline.planning.intents import Intent
from fieldline.planning.planner import lookup_requests, plan
from fieldline.planning.plans import Action, Decision, Plan
from fieldline.spec.model import Mode, Nulls, Spec, Strategy
from fieldline.values import is_blank
from tests.strategies import (
    NORMALIZERS,
    MemoryTarget,
    PlanningCase,
    documents,
    json_values,
    planning_cases,
    specs,
    wild_specs,
)

# Budget and deadline come from the Hypothesis profile (tests/conftest.py); whole specs and
# documents are big draws, so the size health checks would only complain about the strategy.
SETTINGS = settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _run(
    spec: Spec, docs: list[SourceDocument], target: MemoryTarget
) -> tuple[list[Intent], LookupResult, Plan]:
    intents = evaluate(spec, docs, normalizers=NORMALIZERS)
    existing = target.lookup(lookup_requests(spec, intents, normalizers=NORMALIZERS))
    return intents, existing, plan(spec, intents, existing, descriptions=target.descriptions or None)


def _target(case: PlanningCase) -> MemoryTarget:
    return MemoryTarget(
        records={name: [dict(r) for r in rows] for name, rows in case.state.items()},
        descriptions=case.descriptions,
    )


@SETTINGS
@given(planning_cases())
def test_planning_again_after_applying_writes_nothing(case: PlanningCase) -> None:
    target = _target(case)
    _, _, first = _run(case.spec, case.documents, target)
    target.apply_plan(first)
    _, _, second = _run(case.spec, case.documents, target)
    written = [r for r in second.records if r.action in (Action.CREATE, Action.UPDATE)]
    assert written == [], [(r.label, r.action, r.writes, r.matched_by) for r in written]
    # and what was an error stays an error: applying does not hide problems
    assert {r.label for r in first.by_action(Action.ERROR)} <= {
        r.label for r in second.by_action(Action.ERROR)
    } | {r.label for r in second.by_action(Action.SKIP)}


@SETTINGS
@given(planning_cases())
def test_if_empty_never_overwrites_a_value(case: PlanningCase) -> None:
    _, _, result = _run(case.spec, case.documents, _target(case))
    for record_plan in result.by_action(Action.UPDATE):
        for change in record_plan.changes:
            if change.strategy is Strategy.IF_EMPTY and change.decision is Decision.WRITE:
                assert is_blank(change.old), (record_plan.label, change)


@SETTINGS
@given(planning_cases(modes=(Mode.UPDATE_ONLY,)))
def test_update_only_never_creates(case: PlanningCase) -> None:
    _, _, result = _run(case.spec, case.documents, _target(case))
    assert result.by_action(Action.CREATE) == ()


@SETTINGS
@given(planning_cases(modes=(Mode.DISABLED,)))
def test_disabled_never_writes(case: PlanningCase) -> None:
    _, _, result = _run(case.spec, case.documents, _target(case))
    assert {r.action for r in result.records} <= {Action.SKIP, Action.ERROR}


@SETTINGS
@given(planning_cases())
def test_nulls_skip_never_clears(case: PlanningCase) -> None:
    _, _, result = _run(case.spec, case.documents, _target(case))
    for record_plan in result.records:
        for change in record_plan.changes:
            if change.new is None and change.decision is Decision.WRITE:
                record_spec = case.spec.record_named(record_plan.record)
                assert record_spec is not None
                field_spec = record_spec.field_named(change.field)
                assert field_spec is not None
                assert field_spec.nulls is Nulls.CLEAR, (record_plan.label, change)


def _shuffled(existing: LookupResult, seed: int) -> dict[Any, Any]:
    shuffler = random.Random(seed)
    copy: dict[Any, Any] = {}
    slots = list(existing.items())
    shuffler.shuffle(slots)
    for slot, by_value in slots:
        values = list(by_value.items())
        shuffler.shuffle(values)
        copy[slot] = {value: shuffler.sample(list(rows), len(rows)) for value, rows in values}
    return copy


@SETTINGS
@given(planning_cases(), st.integers(0, 2**32))
def test_planning_is_deterministic(case: PlanningCase, seed: int) -> None:
    intents, existing, first = _run(case.spec, case.documents, _target(case))
    descriptions = case.descriptions or None
    again = plan(
        case.spec,
        evaluate(case.spec, case.documents, normalizers=NORMALIZERS),
        existing,
        descriptions=descriptions,
    )
    shuffled = plan(case.spec, intents, _shuffled(existing, seed), descriptions=descriptions)
    assert again == first
    assert shuffled.as_json() == first.as_json()


@SETTINGS
@given(planning_cases())
def test_never_two_creates_for_one_match_key(case: PlanningCase) -> None:
    intents, _, result = _run(case.spec, case.documents, _target(case))
    by_label = {f"{intent.record} {intent.key}": intent for intent in intents}
    keys: Counter[tuple[str, str, tuple[str, ...], Any]] = Counter()
    for record_plan in result.by_action(Action.CREATE):
        for key in by_label[record_plan.label].match:
            if key.value is not None:
                keys[(record_plan.record, key.field, key.normalize, key.value)] += 1
    assert [key for key, count in keys.items() if count > 1] == []


@SETTINGS
@given(planning_cases())
def test_plan_order_is_spec_order_then_source_order(case: PlanningCase) -> None:
    intents, _, result = _run(case.spec, case.documents, _target(case))
    order = [record.name for record in case.spec.records]
    expected = sorted(
        ((intent.record, intent.key) for intent in intents),
        key=lambda slot: order.index(slot[0]),
    )
    assert [(r.record, r.key) for r in result.records] == expected


@SETTINGS
@given(specs() | wild_specs(), documents(anything=True), st.none() | json_values())
def test_any_document_plans_or_fails_with_a_fieldline_error(
    spec: Spec, docs: list[SourceDocument], odd_root: Any
) -> None:
    # documents of any shape (the data at the root may not even be an object)
    if docs and odd_root is not None:
        docs[0] = SourceDocument(docs[0].key, odd_root, docs[0].version)
    failure: FieldlineError | None = None
    try:
        intents = evaluate(spec, docs, normalizers=NORMALIZERS)
        requests = lookup_requests(spec, intents, normalizers=NORMALIZERS)
        result = plan(spec, intents, MemoryTarget().lookup(requests))
    except FieldlineError as exc:  # allowed, but it must say where
        failure = exc
    if failure is not None:
        assert failure.context or "records." in str(failure), failure
        return
    assert len(result.records) == len(intents)
    for record_plan in result.by_action(Action.ERROR):
        assert record_plan.reasons, record_plan
    for intent in intents:
        if intent.error is not None:  # says which record, and which field or clause
            assert intent.error.startswith(f"records.{intent.record}: "), intent.error
