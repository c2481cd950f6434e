"""lookup_requests, plan and resolve_refs: behaviour the golden cases do not pin down."""

from __future__ import annotations

from typing import Any

import pytest

from fieldline.contracts import LookupResult, SourceDocument
from fieldline.errors import PlanError
from fieldline.planning.evaluation import evaluate
from fieldline.planning.intents import FieldIntent, Intent, MatchKey, Ref
from fieldline.planning.planner import lookup_requests, plan, resolve_refs
from fieldline.planning.plans import Action, Decision, FieldChange, Plan, RecordPlan
from fieldline.spec.model import FieldSpec, Mode, Nulls, Spec, Strategy
from tests.strategies import NORMALIZERS, MemoryTarget, make_spec, match_rule, record, value_field


def _documents(*datas: dict[str, Any]) -> list[SourceDocument]:
    return [SourceDocument(key=f"d{i}", data=data, version=None) for i, data in enumerate(datas)]


def _plan(spec: Spec, docs: list[SourceDocument], target: MemoryTarget) -> Plan:
    intents = evaluate(spec, docs, normalizers=NORMALIZERS)
    return plan(spec, intents, target.lookup(lookup_requests(spec, intents, normalizers=NORMALIZERS)))


PARENT_CHILD = make_spec(
    record("applicant", "Account", [value_field("Key__c", "id")], [match_rule("Key__c", "id")]),
    record(
        "application",
        "App",
        [value_field("App__c", "id"), FieldSpec(name="Account__c", ref="applicant")],
        [match_rule("App__c", "id")],
        for_each="apps[]",
    ),
)


def test_lookup_requests_group_values_and_list_needed_fields() -> None:
    spec = make_spec(
        record(
            "contact",
            "Contact",
            [value_field("Email", "email"), value_field("Title", "title")],
            [match_rule("Email", "email", "trim", "lower"), match_rule("Phone__c", "phone")],
        )
    )
    intents = evaluate(
        spec,
        _documents({"email": " A@x.io"}, {"email": "a@X.io "}, {"email": "b@x.io", "phone": ""}),
        normalizers=NORMALIZERS,
    )
    (request,) = lookup_requests(spec, intents, normalizers=NORMALIZERS)
    assert (request.object, request.field, request.normalize) == ("Contact", "Email", ("trim", "lower"))
    assert request.values == {"a@x.io", "b@x.io"}
    assert request.fields == {"Email", "Title", "Phone__c"}
    assert request.normalizer is not None
    assert request.normalizer("  HTTP@Y.IO ") == "http@y.io"


def test_lookup_requests_skip_intents_with_errors() -> None:
    spec = make_spec(
        record("r", "O", [value_field("S", "s", map={"A": "a"})], [match_rule("K__c", "k")]),
    )
    intents = evaluate(spec, _documents({"k": "1", "s": "B"}), normalizers=NORMALIZERS)
    assert lookup_requests(spec, intents, normalizers=NORMALIZERS) == []


def test_resolve_refs_replaces_parent_refs_with_their_new_ids() -> None:
    result = _plan(PARENT_CHILD, _documents({"id": "p", "apps": [{"id": "a"}]}), MemoryTarget())
    child = result.find("application", "d0[0]")
    assert child is not None
    assert child.refs == (Ref("applicant", "d0"),)
    assert resolve_refs(child, {("applicant", "d0"): "001NEW"}) == {"App__c": "a", "Account__c": "001NEW"}
    with pytest.raises(PlanError, match="parent applicant d0 has no id yet"):
        resolve_refs(child, {})


def test_a_child_of_a_superseded_parent_links_to_the_winner() -> None:
    docs = _documents({"id": "p", "apps": [{"id": "a"}]}, {"id": "p", "apps": [{"id": "b"}]})
    result = _plan(PARENT_CHILD, docs, MemoryTarget())
    assert [(r.key, r.action) for r in result.records] == [
        ("d0", Action.SKIP),
        ("d1", Action.CREATE),
        ("d0[0]", Action.CREATE),
        ("d1[0]", Action.CREATE),
    ]
    first_child = result.find("application", "d0[0]")
    assert first_child is not None
    assert first_child.writes["Account__c"] == Ref("applicant", "d1")


def test_records_matched_by_their_own_keys_are_not_grouped_by_a_shared_fallback_key() -> None:
    # d0 finds Account-9 by Id; d1 (no Id) finds Account-1 by Email; both carry the same Email.
    # Each updates its own record, and each child links to its own parent.
    spec = make_spec(
        record(
            "acc",
            "Account",
            [value_field("Email__c", "email", strategy=Strategy.IF_EMPTY)],
            [match_rule("Id", "crm_id"), match_rule("Email__c", "email")],
        ),
        record(
            "app",
            "App__c",
            [value_field("AppId__c", "app"), FieldSpec(name="Account__c", ref="acc")],
            [match_rule("AppId__c", "app")],
        ),
    )
    target = MemoryTarget(
        records={
            "Account": [
                {"Id": "Account-1", "Email__c": "a@x.io"},
                {"Id": "Account-9", "Email__c": "other@x.io"},
            ]
        }
    )
    docs = _documents(
        {"crm_id": "Account-9", "email": "a@x.io", "app": "APP-OF-9"},
        {"email": "a@x.io", "app": "APP-OF-1"},
    )
    result = _plan(spec, docs, target)
    first, second = result.find("acc", "d0"), result.find("acc", "d1")
    assert first is not None
    assert second is not None
    assert (first.action, first.target_id) == (Action.NOOP, "Account-9")  # if_empty keeps other@
    assert (second.action, second.target_id) == (Action.NOOP, "Account-1")
    children = {r.key: r.writes.get("Account__c") for r in result.records if r.record == "app"}
    assert children == {"d0": "Account-9", "d1": "Account-1"}


def test_a_newer_intent_that_found_nothing_updates_the_record_its_group_found() -> None:
    # d1 finds Parent-001 by Key__c; the newer d0 (no key, same email) wins the group: it must
    # update Parent-001, not create a second record (found by hypothesis)
    spec = make_spec(
        record(
            "parent",
            "Parent",
            [
                value_field("Key__c", "id", strategy=Strategy.IF_EMPTY),
                value_field("Email__c", "email", strategy=Strategy.IF_EMPTY),
            ],
            [match_rule("Key__c", "id"), match_rule("Email__c", "email")],
        )
    )
    docs = [
        SourceDocument("d0", {"email": "k3"}, 0.0),
        SourceDocument("d1", {"id": "k1", "email": "k3"}, None),
    ]
    target = MemoryTarget(records={"Parent": [{"Id": "Parent-001", "Key__c": "k1"}]})
    first, second = _plan(spec, docs, target).records
    assert (first.action, first.target_id, first.writes) == (Action.UPDATE, "Parent-001", {"Email__c": "k3"})
    assert first.matched_by == "Key__c = 'k1' (found for d1)"
    assert (second.action, second.reasons) == (Action.SKIP, ("superseded by d0 in this batch",))


def test_a_child_that_cannot_be_written_does_not_push_a_writable_one_aside() -> None:
    # both documents carry application "x"; the second one's parent is in error
    spec = make_spec(
        record(
            "applicant",
            "Account",
            [value_field("Key__c", "id"), value_field("Tier__c", "tier", map={"A": "Gold"})],
            [match_rule("Key__c", "id")],
        ),
        record(
            "application",
            "App",
            [value_field("App__c", "id"), FieldSpec(name="Account__c", ref="applicant")],
            [match_rule("App__c", "id")],
            for_each="apps[]",
        ),
    )
    docs = _documents(
        {"id": "p1", "tier": "A", "apps": [{"id": "x"}]},
        {"id": "p2", "tier": "Z", "apps": [{"id": "x"}]},
    )
    result = _plan(spec, docs, MemoryTarget())
    actions = {(r.record, r.key): r.action for r in result.records}
    assert actions[("applicant", "d1")] is Action.ERROR
    assert actions[("application", "d0[0]")] is Action.CREATE
    assert actions[("application", "d1[0]")] is Action.ERROR


def test_a_child_of_an_updated_parent_gets_its_id_and_is_diffed() -> None:
    target = MemoryTarget(
        records={
            "Account": [{"Id": "001", "Key__c": "p"}],
            "App": [{"Id": "a01", "App__c": "a", "Account__c": "001"}],
        }
    )
    result = _plan(PARENT_CHILD, _documents({"id": "p", "apps": [{"id": "a"}]}), target)
    assert [r.action for r in result.records] == [Action.NOOP, Action.NOOP]


def test_an_update_sends_only_fields_that_change() -> None:
    spec = make_spec(
        record(
            "r",
            "O",
            [value_field("K", "k"), value_field("A", "a"), value_field("B", "b", strategy=Strategy.IF_EMPTY)],
            [match_rule("K", "k")],
        )
    )
    target = MemoryTarget(records={"O": [{"Id": "1", "K": "k", "A": "old", "B": "kept"}]})
    (update,) = _plan(spec, _documents({"k": "k", "a": "new", "b": "other"}), target).records
    assert update.action is Action.UPDATE
    assert update.writes == {"A": "new"}
    assert [c.decision for c in update.changes] == [Decision.UNCHANGED, Decision.WRITE, Decision.KEPT]


def test_plan_rejects_intents_of_another_spec() -> None:
    stray = Intent(record="nope", object="O", key="k", document_key="k", fields=())
    with pytest.raises(PlanError, match="names record 'nope'"):
        plan(PARENT_CHILD, [stray], {})


def test_a_ref_to_a_parent_outside_the_batch_is_an_error() -> None:
    orphan = Intent(
        record="application",
        object="App",
        key="x[0]",
        document_key="x",
        fields=(FieldIntent("Account__c", Ref("applicant", "x")),),
    )
    (record_plan,) = plan(PARENT_CHILD, [orphan], {}).records
    assert record_plan.action is Action.ERROR
    assert "not planned in this batch" in record_plan.reasons[0]


def test_plans_are_values_the_cli_can_print() -> None:
    result = _plan(PARENT_CHILD, _documents({"id": "p", "apps": [{"id": "a"}]}), MemoryTarget())
    as_json = result.as_json()
    assert as_json["counts"]["create"] == 2
    assert as_json["records"][1]["fields"][1]["new"] == {"ref": "applicant", "key": "d0"}
    assert isinstance(result.records[0], RecordPlan)
    assert isinstance(result.records[0].changes[0], FieldChange)


@pytest.mark.parametrize(
    ("strategy", "decision"),
    [
        pytest.param(Strategy.OVERRIDE, Decision.WRITE, id="override-clears"),
        pytest.param(Strategy.IF_EMPTY, Decision.KEPT, id="if-empty-keeps"),
        pytest.param(Strategy.ON_CREATE, Decision.NOT_ON_UPDATE, id="on-create-leaves"),
    ],
)
def test_nulls_clear_follows_the_strategy(strategy: Strategy, decision: Decision) -> None:
    spec = make_spec(
        record(
            "r",
            "O",
            [value_field("K", "k"), value_field("F", "f", nulls=Nulls.CLEAR, strategy=strategy)],
            [match_rule("K", "k")],
        )
    )
    target = MemoryTarget(records={"O": [{"Id": "1", "K": "k", "F": "set"}]})
    (record_plan,) = _plan(spec, _documents({"k": "k", "f": None}), target).records
    assert record_plan.changes[1].decision is decision


def test_hand_built_intents_for_fields_and_rules_the_spec_lacks_are_planned() -> None:
    spec = make_spec(record("r", "O", [value_field("K", "k")], [match_rule("K", "k")]))
    intent = Intent(
        record="r",
        object="O",
        key="x",
        document_key="x",
        fields=(FieldIntent("Other__c", "v"),),
        match=(MatchKey("Alt__c", "a", "a"),),
    )
    requests = lookup_requests(spec, [intent], normalizers=NORMALIZERS)
    assert [(r.field, set(r.values)) for r in requests] == [("Alt__c", {"a"})]
    existing: LookupResult = {("O", "Alt__c", ()): {"a": [{"Id": "9", "Other__c": "old"}]}}
    (record_plan,) = plan(spec, [intent], existing).records
    assert record_plan.action is Action.UPDATE
    assert record_plan.writes == {"Other__c": "v"}


def test_an_unmapped_skip_is_told_by_its_flag_not_by_its_note() -> None:
    from fieldline.values import MISSING

    spec = make_spec(record("r", "O", [value_field("K", "k")], [match_rule("K", "k")]))
    skipped = FieldIntent("S", MISSING, note="unmapped value skipped: 'x'", unmapped_skipped=True)
    look_alike = FieldIntent("L", MISSING, note="unmapped value skipped: 'y'")
    intent = Intent(
        record="r",
        object="O",
        key="x",
        document_key="x",
        fields=(FieldIntent("K", "k"), skipped, look_alike),
        match=(MatchKey("K", "k", "k"),),
    )
    existing: LookupResult = {("O", "K", ()): {"k": [{"Id": "1", "K": "k", "S": "a", "L": "b"}]}}
    (record_plan,) = plan(spec, [intent], existing).records
    decisions = {change.field: change.decision for change in record_plan.changes}
    assert decisions["S"] is Decision.UNMAPPED_SKIPPED
    assert decisions["L"] is Decision.MISSING


def test_fields_with_many_values_are_planned_like_fields_with_few() -> None:
    # shared changes stop at a few dozen distinct values: past that, plans must not change
    spec = make_spec(
        record("r", "O", [value_field("K", "k"), value_field("Tier", "tier")], [match_rule("K", "k")])
    )
    docs = _documents(*({"k": f"k{i}", "tier": f"t{i % 100}"} for i in range(300)))
    existing = [{"Id": f"{i:03d}", "K": f"k{i}", "Tier": f"t{i % 100}"} for i in range(0, 300, 2)]
    result = _plan(spec, docs, MemoryTarget(records={"O": existing}))
    for number, record_plan in enumerate(result.records):
        assert record_plan.action is (Action.NOOP if number % 2 == 0 else Action.CREATE)
        assert [change.new for change in record_plan.changes] == [f"k{number}", f"t{number % 100}"]


@pytest.mark.parametrize(
    "normalize", [pytest.param((), id="plain"), pytest.param(("root_domain",), id="root_domain")]
)
def test_a_list_match_value_is_an_error_with_or_without_a_normalizer(normalize: tuple[str, ...]) -> None:
    spec = make_spec(
        record(
            "company",
            "Account",
            [value_field("Name", "name")],
            [match_rule("Website", "domains", *normalize)],
        )
    )
    [company] = _plan(
        spec, _documents({"name": "Acme", "domains": ["acme.io", "acme.com"]}), MemoryTarget()
    ).records
    assert company.action is Action.ERROR
    assert "is a list; a match key must be a string, number or boolean" in company.reasons[0]


def test_update_only_without_a_usable_key_says_so_not_no_match() -> None:
    spec = make_spec(
        record(
            "company",
            "Account",
            [value_field("Name", "name")],
            [match_rule("Website", "domain", "root_domain")],
            mode=Mode.UPDATE_ONLY,
        )
    )
    docs = _documents({"name": "No site", "domain": None}, {"name": "Absent", "domain": "absent.io"})
    no_key, no_match = _plan(spec, docs, MemoryTarget()).records
    assert no_key.action is no_match.action is Action.SKIP
    assert no_key.reasons == ("no match key has a value (Website); mode is update_only",)
    assert no_match.reasons == ("no match and mode is update_only",)
