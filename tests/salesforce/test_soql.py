"""SOQL literals and URL-length chunking."""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote_plus

import pytest
from hypothesis import given, strategies as st

from fieldline.adapters.salesforce import soql
from fieldline.contracts import FieldType


@pytest.mark.parametrize(
    ("value", "field_type", "expected"),
    [
        pytest.param("O'Brien", "string", r"'O\'Brien'", id="quote"),
        pytest.param("back\\slash", "string", r"'back\\slash'", id="backslash"),
        pytest.param("two\nlines", "string", r"'two\nlines'", id="newline"),
        pytest.param(5, "double", "5", id="number"),
        pytest.param(5, "string", "'5'", id="number-as-text"),
        pytest.param(True, "boolean", "true", id="boolean"),
        pytest.param(None, "string", "null", id="null"),
        pytest.param(dt.date(2024, 1, 2), "date", "2024-01-02", id="date"),
        pytest.param(
            dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC), "datetime", "2024-01-02T03:04:05Z", id="datetime"
        ),
    ],
)
def test_literal(value: object, field_type: str, expected: str) -> None:
    assert soql.literal(value, FieldType(field_type)) == expected


def test_like_contains_escapes_wildcards() -> None:
    assert soql.like_contains("50%_off's") == r"'%50\%\_off\'s%'"


@given(
    values=st.sets(st.text(min_size=0, max_size=60), min_size=1, max_size=400),
    limit=st.integers(min_value=400, max_value=4000),
)
def test_chunks_cover_every_value_and_stay_short(values: set[str], limit: int) -> None:
    literals = [soql.quote_string(value) for value in values]
    base = len("https://x.my.salesforce.com/services/data/v59.0/query/?q=")
    queries = list(
        soql.in_clause_chunks(
            "SELECT Id FROM Account", "Name", literals, base_length=base, max_url_length=limit, max_items=50
        )
    )
    seen: list[str] = []
    for query in queries:
        assert query.startswith("SELECT Id FROM Account WHERE Name IN (")
        inside = query[len("SELECT Id FROM Account WHERE Name IN (") : -1]
        chunk = _split(inside)
        assert len(chunk) <= 50
        if len(chunk) > 1:
            assert base + len(quote_plus(query)) <= limit
        seen.extend(chunk)
    assert sorted(seen) == sorted(set(literals))


def _split(inside: str) -> list[str]:
    # Split "'a', 'b'" on the separators between quoted literals (quotes inside are escaped).
    items: list[str] = []
    current = ""
    escaped = False
    quoted = False
    for char in inside:
        if quoted:
            current += char
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == "'":
                quoted = False
                items.append(current)
                current = ""
        elif char == "'":
            quoted = True
            current = char
    return items


def test_two_thousand_uuids_need_few_queries() -> None:
    import uuid

    literals = [soql.quote_string(str(uuid.uuid4())) for _ in range(2000)]
    queries = list(soql.in_clause_chunks("SELECT Id, Ext__c FROM Obj__c", "Ext__c", literals, base_length=60))
    assert 5 <= len(queries) <= 7
    assert all(60 + len(quote_plus(query)) <= soql.MAX_URL_LENGTH for query in queries)


def test_item_cap() -> None:
    literals = [str(number) for number in range(4500)]
    queries = list(soql.in_clause_chunks("SELECT Id FROM A", "N", literals, max_url_length=10**9))
    assert len(queries) == 3
