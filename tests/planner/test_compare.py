"""Target-aware comparison: what counts as 'unchanged' for a CRM field."""

from __future__ import annotations

import pytest

from fieldline.contracts import FieldDescription, FieldType
from fieldline.planning.compare import comparator, salesforce_id18, same_value
from fieldline.values import MISSING


def _typed(field_type: str) -> FieldDescription:
    return FieldDescription(name="F", type=FieldType(field_type))


@pytest.mark.parametrize(
    ("old", "new", "field_type", "blank_is_null", "expected"),
    [
        pytest.param("a", "a", None, False, True, id="same-text"),
        pytest.param("a", "A", None, False, False, id="case-matters-for-text"),
        pytest.param(5.0, 5, None, False, True, id="int-equals-float"),
        pytest.param(True, 1, None, False, False, id="boolean-is-not-a-number"),
        pytest.param(1, True, "int", False, False, id="number-is-not-a-boolean"),
        pytest.param(False, False, "boolean", False, True, id="same-boolean"),
        pytest.param(1200.5, "1200.50", "currency", False, True, id="numeric-text-on-number-field"),
        pytest.param("abc", "abc", "double", False, True, id="non-numeric-text-on-number-field"),
        pytest.param(1000, "1e3", "double", False, True, id="exponent-text-on-number-field"),
        pytest.param(1000, "1_000", "double", False, False, id="python-only-digit-separators"),
        pytest.param(5, " 5", "double", False, False, id="padded-number-text"),
        pytest.param(float("nan"), "nan", "double", False, False, id="nan-text-is-no-number"),
        pytest.param("", None, None, False, False, id="blank-differs-without-blank-is-null"),
        pytest.param("", None, None, True, True, id="blank-is-null"),
        pytest.param(MISSING, "", None, True, True, id="absent-is-blank"),
        pytest.param("x", "", None, True, False, id="value-vs-blank"),
        pytest.param(
            "2024-01-01T00:00:00.000+0000", "2024-01-01T00:00:00Z", "datetime", False, True, id="instant"
        ),
        pytest.param(
            "2024-03-01T08:00:00.000+0000", "2024-03-01T10:00:00+02:00", "datetime", False, True, id="offset"
        ),
        pytest.param("2024-01-01T00:00:00Z", "2024-01-01T00:00:01Z", "datetime", False, False, id="later"),
        pytest.param(
            "2024-01-01T00:00:00.123+0000",
            "2024-01-01T00:00:00.123456Z",
            "datetime",
            False,
            True,
            id="millis",
        ),
        pytest.param("2024-01-01T00:00:00", "2024-01-01T00:00:00Z", "datetime", False, True, id="naive-utc"),
        pytest.param("2025-06-30", "2025-06-30T00:00:00Z", "date", False, True, id="date-of-datetime"),
        pytest.param("not a date", "not a date", "date", False, True, id="unparsable-equal-text"),
        pytest.param("2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z", None, False, True, id="untyped-text"),
        pytest.param(
            "2024-01-01T00:00:00.000+0000", "2024-01-01T00:00:00Z", None, False, False, id="untyped"
        ),
        pytest.param("001A0000006Vm9r", "001A0000006Vm9rIAC", "reference", False, True, id="id-15-vs-18"),
        pytest.param("001a0000006vm9riac", "001A0000006Vm9r", "id", False, True, id="id-18-any-case"),
        pytest.param("001a0000006vm9r", "001A0000006Vm9rIAC", "id", False, False, id="id-15-is-case-exact"),
        pytest.param("001A0000006Vm9r", "001a0000006vm9r", "id", False, False, id="two-15s-exact"),
    ],
)
def test_same_value(
    old: object, new: object, field_type: str | None, blank_is_null: bool, expected: bool
) -> None:
    field = _typed(field_type) if field_type is not None else None
    assert same_value(old, new, field, blank_is_null=blank_is_null) is expected
    assert same_value(new, old, field, blank_is_null=blank_is_null) is expected  # symmetric


def test_salesforce_id18_appends_the_case_checksum() -> None:
    assert salesforce_id18("001A0000006Vm9r") == "001A0000006Vm9rIAC"
    assert salesforce_id18("001000000000001") == "001000000000001AAA"


def test_comparator_is_built_once_per_field() -> None:
    compare = comparator(_typed("datetime"), blank_is_null=True)
    assert compare("2024-01-01T00:00:00.000+0000", "2024-01-01T00:00:00Z")
    assert compare(None, "")
    assert not compare(None, "2024-01-01T00:00:00Z")
