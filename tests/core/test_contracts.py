"""The values adapters hand the engine: field types and case-insensitive field names."""

from __future__ import annotations

import pytest

from fieldline.contracts import FieldDescription, FieldType, ObjectDescription, field_value
from fieldline.values import MISSING


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("double", FieldType.DOUBLE, id="salesforce-word"),
        pytest.param("DateTime", FieldType.DATETIME, id="any-case"),
        pytest.param("anytype", FieldType.ANY_TYPE, id="camel-case-word"),
        pytest.param(" text ", FieldType.STRING, id="alias-text"),
        pytest.param("integer", FieldType.INT, id="alias-integer"),
        pytest.param("number", FieldType.DOUBLE, id="alias-number"),
        pytest.param("strng", None, id="unknown"),
        pytest.param("other", None, id="other-is-not-a-name"),
    ],
)
def test_field_types_parse(text: str, expected: FieldType | None) -> None:
    assert FieldType.parse(text) is expected


def test_every_name_parses_and_every_type_but_other_has_one() -> None:
    parsed = {FieldType.parse(name) for name in FieldType.names()}
    assert parsed == set(FieldType) - {FieldType.OTHER}


def test_type_families() -> None:
    assert {t for t in FieldType if t.is_number} == {"int", "long", "double", "currency", "percent"}
    assert {t for t in FieldType if t.is_id} == {FieldType.ID, FieldType.REFERENCE}
    texts = {t for t in FieldType if t.is_text}
    assert {FieldType.STRING, FieldType.EMAIL, FieldType.PICKLIST, FieldType.REFERENCE} <= texts
    assert texts.isdisjoint({FieldType.BOOLEAN, FieldType.DATE, FieldType.INT, FieldType.OTHER})


def test_field_lookup_ignores_case_and_prefers_the_exact_spelling() -> None:
    exact, other = FieldDescription("Name"), FieldDescription("NAME", type=FieldType.TEXTAREA)
    described = ObjectDescription("Account", {"Name": exact, "NAME": other})
    assert described.field("Name") is exact
    assert described.field("NAME") is other
    assert described.field("name") is exact  # the first of the two, as Salesforce has only one
    assert described.field("Nope") is None


def test_descriptions_compare_by_their_fields_only() -> None:
    fields = {"Name": FieldDescription("Name")}
    assert ObjectDescription("Account", fields) == ObjectDescription("Account", dict(fields))


def test_record_values_are_found_in_any_case() -> None:
    record = {"Id": "001", "Name": "exact", "NAME": "shouted", "Empty__c": None}
    assert field_value(record, "Name") == "exact"
    assert field_value(record, "name") == "exact"  # the first match in the record's order
    assert field_value(record, "empty__C", "absent") is None  # a null value is a value
    assert field_value(record, "Nope__c") is None
    assert field_value(record, "Nope__c", MISSING) is MISSING
