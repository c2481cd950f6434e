"""``validate --against``: a loaded spec checked against a fake target's describe."""

from __future__ import annotations

import pytest

from fieldline.errors import FatalAdapterError, Problem, TransientAdapterError
from fieldline.spec.against_target import check_against_target
from fieldline.spec.loader import analyze_spec_text
from tests.spec.fakes import FakeTarget, fake_plugin_manager

SPEC = """\
fieldline: 1
name: against
records:
  - name: company
    object: Account
    fields:
      name: legal_name
      Websit: url
      Active__c: {const: "yes"}
      Employees__c: {value: size, default: many}
      Founded__c: {const: 31/01/2020}
      Tier__c: {value: tier, map: {g: Gold, p: Platinum}, unmapped: {const: Bronze}}
      Rating__c: {const: Warm}
      Website: {const: 12345}
      Formula__c: formula
      Created_By_Sync__c: {value: run_id, strategy: on_create}
      Profile_Id__c: {const: "0123456789012345678901234567890123456789"}
  - name: person
    object: Contact
    match: [{field: Email, value: email}]
    mode: update_only
    fields:
      Email: email
      AccountId: {ref: company}
      ReportsToId: {ref: company}
      Formula__c: x
  - name: boss
    object: Contact
    mode: create_only
    fields:
      Email: boss_email
      Id: {ref: person}
  - name: ghost
    object: Ghost__c
    fields:
      Name: name
  - name: ghost2
    object: Ghost__c
    mode: disabled
    fields:
      Name: name
"""


def check(spec_text: str, target: FakeTarget) -> list[Problem]:
    result = analyze_spec_text(spec_text, file="s.yaml", plugin_manager=fake_plugin_manager())
    assert result.spec is not None, result.problems
    return check_against_target(result.spec, target, result.positions)


def render(problems: list[Problem]) -> list[str]:
    return [
        f"{p.line}:{p.col}: {p.json_path}: {p.message}" + (f" | {p.hint}" if p.hint else "") for p in problems
    ]


def test_every_kind_of_target_problem_is_located() -> None:
    problems = check(SPEC, FakeTarget({}))
    assert all(problem.file == "s.yaml" and problem.code == "target" for problem in problems)
    assert render(problems) == [
        "8:7: records[0].fields.Websit: Account has no field 'Websit' | did you mean 'Website'?",
        '9:26: records[0].fields.Active__c.const: Active__c is a boolean field; "yes" is not true or false',
        '10:44: records[0].fields.Employees__c.default: Employees__c is an int field; "many" is not a number',
        '11:27: records[0].fields.Founded__c.const: Founded__c is a date field; "31/01/2020" is not a '
        "YYYY-MM-DD date",
        "12:48: records[0].fields.Tier__c.map.p: 'Platinum' is not a value of the restricted picklist Tier__c"
        " | allowed: Gold, Silver",
        "12:77: records[0].fields.Tier__c.unmapped.const: 'Bronze' is not a value of the restricted picklist "
        "Tier__c | allowed: Gold, Silver",
        "15:7: records[0].fields.Formula__c: Account.Formula__c is not createable, but this record may be "
        "created | remove the field, or set the record's mode to update_only",
        "15:7: records[0].fields.Formula__c: Account.Formula__c is not updateable, but this record may be "
        "updated | write it only on create (strategy: on_create), or set mode: create_only",
        "17:30: records[0].fields.Profile_Id__c.const: '0123456789012345678901234567890123456789' is 40 "
        "characters long; Profile_Id__c holds at most 36",
        "25:26: records[1].fields.ReportsToId.ref: ReportsToId references Contact, not Account "
        "(the object of record 'company') | ref a record of the referenced object",
        "26:7: records[1].fields.Formula__c: Contact has no field 'Formula__c' | run 'fieldline describe "
        "Contact' to list its fields",
        "30:5: records[2].fields: Contact requires 'LastName' on create, but record 'boss' does not map it"
        " | map it under fields, or set mode: update_only",
        "32:7: records[2].fields.Id: Contact.Id is not createable, but this record may be created"
        " | remove the field, or set the record's mode to update_only",
        "34:13: records[3].object: unknown object 'Ghost__c' | the target says: unknown object 'Ghost__c'",
        "38:13: records[4].object: unknown object 'Ghost__c'",
    ]


def test_a_matching_spec_has_no_target_problems() -> None:
    text = (
        "fieldline: 1\nname: ok\nrecords:\n  - name: company\n    object: Account\n    fields:\n"
        "      name: legal_name\n      Active__c: {const: true}\n      Employees__c: {const: 12}\n"
        "      Tier__c: {value: tier, map: {g: Gold}, unmapped: skip}\n      Rating__c: {const: Warm}\n"
        "      Founded__c: {const: 2020-01-31}\n"
        "  - name: person\n    object: Contact\n    fields:\n      LastName: last\n"
        "      AccountId: {ref: company}\n"
    )
    assert check(text, FakeTarget({})) == []


def test_connection_failures_propagate_as_adapter_errors() -> None:
    with pytest.raises(TransientAdapterError):
        check(SPEC, FakeTarget({"fail": "describe"}))


def test_a_fatal_error_that_is_not_about_the_object_propagates() -> None:
    class Locked(FakeTarget):
        def describe(self, object_name: str) -> object:  # type: ignore[override]
            raise FatalAdapterError("INVALID_SESSION_ID: session expired", status=401)

    with pytest.raises(FatalAdapterError, match="session expired"):
        check(SPEC, Locked({}))


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        pytest.param("A;C", None, id="joined"),
        pytest.param(["A", "C"], None, id="list"),
        pytest.param("A;Z", "'Z' is not a value of the restricted picklist Multi__c", id="one-bad"),
        pytest.param(["Z"], "'Z' is not a value of the restricted picklist Multi__c", id="list-bad"),
    ],
)
def test_multi_select_values_are_checked_one_by_one(value: object, problem: str | None) -> None:
    from fieldline.contracts import FieldDescription, FieldType
    from fieldline.spec.against_target import _value_problem

    field = FieldDescription(
        name="Multi__c",
        type=FieldType.MULTIPICKLIST,
        picklist_values=("A", "B", "C"),
        restricted_picklist=True,
    )
    assert _value_problem(value, field) == problem
