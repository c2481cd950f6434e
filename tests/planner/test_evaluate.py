"""evaluate(): intents from documents, one behaviour per test."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, strategies as st

from fieldline.contracts import SourceDocument
from fieldline.errors import FieldlineError
from fieldline.planning.evaluation import _getter, evaluate, is_truthy
from fieldline.planning.intents import Intent, Ref
from fieldline.spec.model import FieldSpec, Spec, Unmapped
from fieldline.values import MISSING
from tests.strategies import NORMALIZERS, expr, json_values, make_spec, match_rule, record, value_field


def _evaluate(spec: Spec, *documents: dict[str, Any], version: float | None = None) -> list[Intent]:
    docs = [SourceDocument(key=f"d{i}", data=data, version=version) for i, data in enumerate(documents)]
    return evaluate(spec, docs, normalizers=NORMALIZERS)


def _values(intent: Intent) -> dict[str, Any]:
    return {field.field: field.value for field in intent.fields}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(False, False, id="false"),
        pytest.param(None, False, id="null"),
        pytest.param("", False, id="empty-text"),
        pytest.param([], False, id="empty-list"),
        pytest.param({}, False, id="empty-object"),
        pytest.param(0, True, id="zero"),
        pytest.param("no", True, id="text"),
        pytest.param([0], True, id="list"),
        pytest.param(True, True, id="true"),
    ],
)
def test_when_uses_jmespath_truthiness(value: Any, expected: bool) -> None:
    assert is_truthy(value) is expected
    spec = make_spec(record("r", "O", [value_field("A", "a")], when="flag"))
    assert len(_evaluate(spec, {"flag": value, "a": 1})) == (1 if expected else 0)


def test_missing_null_and_empty_text_stay_distinct() -> None:
    spec = make_spec(
        record("r", "O", [value_field("A", "a"), value_field("B", "b"), value_field("C", "c.d")])
    )
    (intent,) = _evaluate(spec, {"b": None, "c": {"d": ""}})
    assert _values(intent) == {"A": MISSING, "B": None, "C": ""}


def test_default_replaces_missing_and_null_with_a_note() -> None:
    spec = make_spec(
        record("r", "O", [value_field("A", "a", default="x"), value_field("B", "b", default="y")])
    )
    (intent,) = _evaluate(spec, {"b": None})
    assert _values(intent) == {"A": "x", "B": "y"}
    assert [field.note for field in intent.fields] == ["default used", "default used"]


def test_map_looks_values_up_by_text_or_json_text() -> None:
    table = {"APPLIED": "Applied", "true": "Yes", "1": "One", "1.5": "One and a half"}
    spec = make_spec(record("r", "O", [value_field("S", "s", map=table)]))
    intents = _evaluate(spec, {"s": "APPLIED"}, {"s": True}, {"s": 1}, {"s": 1.5}, {"s": None})
    assert [_values(intent)["S"] for intent in intents] == ["Applied", "Yes", "One", "One and a half", None]
    assert intents[1].fields[0].note == "map True -> 'Yes'"


def test_a_whole_float_finds_the_integer_map_entry() -> None:
    # JSON has one number type: 10.0 and 1e1 are the number 10, mapped by the entry "10"
    spec = make_spec(record("r", "O", [value_field("Band", "n", map={"10": "Small", "10.5": "Odd"})]))
    intents = _evaluate(spec, {"n": 10.0}, {"n": 1e1}, {"n": 10}, {"n": 10.5})
    assert [_values(intent)["Band"] for intent in intents] == ["Small", "Small", "Small", "Odd"]


def test_unmapped_error_names_record_field_and_fixes() -> None:
    spec = make_spec(record("application", "O", [value_field("Status__c", "s", map={"A": "a"})]))
    (intent,) = _evaluate(spec, {"s": "FOO"})
    assert intent.error == (
        "records.application: Status__c: value 'FOO' is not in map; "
        "add it to map or set unmapped: keep|skip|{const: X}"
    )


@pytest.mark.parametrize(
    ("unmapped", "unmapped_value", "expected"),
    [
        pytest.param(Unmapped.KEEP, MISSING, "FOO", id="keep"),
        pytest.param(Unmapped.SKIP, MISSING, MISSING, id="skip"),
        pytest.param(Unmapped.DEFAULT, "Other", "Other", id="default"),
    ],
)
def test_unmapped_modes(unmapped: Unmapped, unmapped_value: Any, expected: Any) -> None:
    field = value_field("S", "s", map={"A": "a"}, unmapped=unmapped, unmapped_value=unmapped_value)
    (intent,) = _evaluate(make_spec(record("r", "O", [field])), {"s": "FOO"})
    assert intent.error is None
    assert _values(intent) == {"S": expected}


def test_const_is_the_literal_whatever_the_document() -> None:
    spec = make_spec(record("r", "O", [FieldSpec(name="C", const={"k": [1]})]))
    assert [_values(i) for i in _evaluate(spec, {}, {"x": 1})] == [{"C": {"k": [1]}}] * 2


def test_for_each_keys_versions_and_root() -> None:
    spec = make_spec(
        record("r", "O", [value_field("Id__c", "id"), value_field("Doc__c", "root().id")], for_each="items[]")
    )
    intents = _evaluate(spec, {"id": "p", "items": [{"id": "a"}, {"id": "b"}]}, version=7.0)
    assert [(i.key, i.document_key, i.version) for i in intents] == [
        ("d0[0]", "d0", 7.0),
        ("d0[1]", "d0", 7.0),
    ]
    assert [_values(i) for i in intents] == [{"Id__c": "a", "Doc__c": "p"}, {"Id__c": "b", "Doc__c": "p"}]


def test_for_each_null_gives_nothing_and_a_non_list_gives_an_error() -> None:
    spec = make_spec(record("r", "O", [value_field("A", "a")], for_each="items"))
    assert _evaluate(spec, {"items": None}) == []
    (intent,) = _evaluate(spec, {"items": {"a": 1}})
    assert intent.key == "d0"
    assert intent.error is not None
    assert "for_each: 'items' gave a dict, not a list" in intent.error


def _parent_child(*, parent_each: str | None, child_each: str | None, when: str | None = None) -> Spec:
    return make_spec(
        record("applicant", "Account", [value_field("A", "id")], for_each=parent_each, when=when),
        record("application", "App", [FieldSpec(name="P", ref="applicant")], for_each=child_each),
    )


def test_ref_names_the_parent_intent_of_the_same_document() -> None:
    intents = _evaluate(_parent_child(parent_each=None, child_each="apps[]"), {"id": 1, "apps": [{}, {}]})
    assert [_values(i)["P"] for i in intents[1:]] == [Ref("applicant", "d0")] * 2


def test_ref_to_a_for_each_parent_pairs_elements_of_the_same_for_each() -> None:
    intents = _evaluate(_parent_child(parent_each="apps[]", child_each="apps[]"), {"apps": [{}, {}]})
    children = [i for i in intents if i.record == "application"]
    assert [_values(i)["P"] for i in children] == [Ref("applicant", "d0[0]"), Ref("applicant", "d0[1]")]


def test_ref_to_a_for_each_parent_from_another_level_is_an_error() -> None:
    intents = _evaluate(_parent_child(parent_each="apps[]", child_each=None), {"apps": [{}]})
    child = intents[-1]
    assert child.error is not None
    assert "parent 'applicant' is a for_each record" in child.error


def test_ref_to_a_parent_without_a_record_is_an_error() -> None:
    intents = _evaluate(_parent_child(parent_each=None, child_each=None, when="id"), {"id": None})
    (child,) = intents
    assert (
        child.error == "records.application: P: parent 'applicant' has no record for this document (key d0)"
    )


def test_ref_to_a_later_record_is_an_error_not_a_crash() -> None:
    spec = make_spec(
        record("child", "C", [FieldSpec(name="P", ref="parent")]),
        record("parent", "P", [value_field("A", "a")]),
    )
    child = _evaluate(spec, {"a": 1})[0]
    assert child.error is not None
    assert "comes later in the spec" in child.error


def test_match_keys_are_normalized_and_blank_keys_unusable() -> None:
    spec = make_spec(
        record(
            "r",
            "O",
            [value_field("E", "email")],
            [match_rule("Id", "ref"), match_rule("Email", "email", "trim", "lower")],
        )
    )
    (intent,) = _evaluate(spec, {"ref": "", "email": "  Ann@X.io "})
    assert [(k.field, k.value, k.raw) for k in intent.match] == [
        ("Id", None, ""),
        ("Email", "ann@x.io", "  Ann@X.io "),
    ]


def test_unknown_normalizer_and_object_match_values_are_intent_errors() -> None:
    unknown = make_spec(record("r", "O", [value_field("A", "a")], [match_rule("A", "a", "soundex")]))
    (intent,) = _evaluate(unknown, {"a": "x"})
    assert intent.error is not None
    assert "unknown normalizer 'soundex'" in intent.error
    listed = make_spec(record("r", "O", [value_field("A", "a")], [match_rule("A", "a")]))
    (intent,) = _evaluate(listed, {"a": ["x"]})
    assert intent.error is not None
    assert "match A" in intent.error


def test_a_failing_normalizer_becomes_an_intent_error() -> None:
    def broken(value: Any) -> Any:
        raise ValueError("boom")

    spec = make_spec(record("r", "O", [value_field("A", "a")], [match_rule("A", "a", "broken")]))
    docs = [SourceDocument("d0", {"a": "x"})]
    (intent,) = evaluate(spec, docs, normalizers={"broken": broken})
    assert intent.error is not None
    assert "ValueError: boom" in intent.error


def test_an_expression_error_names_record_field_and_key() -> None:
    spec = make_spec(record("r", "O", [value_field("A", "a"), value_field("B", "upper(b)")]))
    (intent,) = _evaluate(spec, {"a": "ok", "b": 3})
    assert intent.error is not None
    assert intent.error.startswith("records.r: B: ")
    assert intent.error.endswith("(key d0)")


@given(st.sampled_from(["a", "a.b", "a.b.c", "id", '"odd key"', "a[0]", "upper(a)"]), json_values())
def test_field_readers_agree_with_jmespaths_interpreter(text: str, document: Any) -> None:
    """The planner's readers are compiled shortcuts; jmespath's tree interpreter is the reference.

    ``missing=True`` may only differ by telling an absent path (``MISSING``) from a null.
    """
    expression = expr(text)
    for doc in (document, {"a": document}, {"a": {"b": document}}):
        reference = _or_error(expression.search_reference, doc)
        read, read_or_missing = _getter(expression, missing=False), _getter(expression, missing=True)
        assert _or_error(read, doc) == reference
        with_missing = _or_error(read_or_missing, doc)
        if with_missing is MISSING:
            assert reference is None
        else:
            assert with_missing == reference


def _or_error(search: Any, document: Any) -> Any:
    try:
        return search(document)
    except FieldlineError:
        return "error"


def test_a_failing_when_is_an_error_of_the_document_record() -> None:
    spec = make_spec(record("r", "O", [value_field("A", "a")], when="upper(a)"))
    (intent,) = _evaluate(spec, {"a": 5})
    assert intent.key == "d0"
    assert intent.error is not None
    assert intent.error.startswith("records.r: when: ")
