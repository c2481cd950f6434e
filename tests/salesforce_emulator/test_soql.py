"""The SOQL subset, evaluated in process against a store (HTTP-level behaviour is in test_query.py)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, strategies as st

from fieldline.adapters.salesforce.emulator.org import load_org
from fieldline.adapters.salesforce.emulator.soql import SoqlError, compile_query, parse
from fieldline.adapters.salesforce.emulator.store import Store
from fieldline.adapters.salesforce.emulator.validation import prepare
from tests.salesforce_emulator.conftest import ORG_FILE


def make_store() -> Store:
    return Store(load_org(ORG_FILE))


def add(store: Store, object_name: str, **body: Any) -> str:
    table = store.table(object_name)
    assert table is not None
    values, errors = prepare(store, table, body)
    assert not errors, errors
    return str(store.insert(table, values)["Id"])


@pytest.fixture
def store() -> Store:
    s = make_store()
    acme = add(s, "Account", Name="Acme", Industry="Banking", NumberOfEmployees=50, Website="acme.com")
    add(s, "Account", Name="Beta", Industry="Retail", NumberOfEmployees=5)
    add(s, "Account", Name="gamma", NumberOfEmployees=500, PassFort_Profile_Id__c="p-3")
    add(s, "Contact", LastName="Doe", FirstName="Jane", AccountId=acme, Email="jane@acme.com")
    add(s, "Contact", LastName="O'Brien", Email="ob@x.io")
    return s


def names(store: Store, soql: str, field: str = "Name") -> list[Any]:
    return [r.get(field) for r in compile_query(store, soql).run(store)]


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        pytest.param("Name = 'acme'", ["Acme"], id="eq-case-insensitive"),
        pytest.param("Name != 'Acme'", ["Beta", "gamma"], id="ne"),
        pytest.param("Name <> 'Acme'", ["Beta", "gamma"], id="ne-angle"),
        pytest.param("Industry IN ('Banking', 'retail')", ["Acme", "Beta"], id="in"),
        pytest.param("Industry NOT IN ('Banking')", ["Beta", "gamma"], id="not-in-keeps-nulls"),
        pytest.param("Industry = null", ["gamma"], id="eq-null"),
        pytest.param("Industry != null", ["Acme", "Beta"], id="ne-null"),
        pytest.param("NumberOfEmployees > 10", ["Acme", "gamma"], id="gt"),
        pytest.param("NumberOfEmployees >= 50", ["Acme", "gamma"], id="ge"),
        pytest.param("NumberOfEmployees < 50", ["Beta"], id="lt"),
        pytest.param("NumberOfEmployees <= 50", ["Acme", "Beta"], id="le"),
        pytest.param("Name LIKE 'a%'", ["Acme"], id="like-prefix"),
        pytest.param("Name LIKE '%M%'", ["Acme", "gamma"], id="like-contains"),
        pytest.param("Name LIKE '_eta'", ["Beta"], id="like-underscore"),
        pytest.param(
            "Name = 'Acme' OR Name = 'Beta' AND Industry = 'Banking'", ["Acme"], id="and-binds-tighter"
        ),
        pytest.param("(Name = 'Acme' OR Name = 'Beta') AND Industry = 'Retail'", ["Beta"], id="parentheses"),
        pytest.param("NOT Name = 'Acme'", ["Beta", "gamma"], id="not"),
        pytest.param("PassFort_Profile_Id__c IN ('P-3', 'p-9')", ["gamma"], id="external-id-index"),
        pytest.param("CreatedDate > 2000-01-01T00:00:00Z", ["Acme", "Beta", "gamma"], id="datetime"),
        pytest.param("CreatedDate = TODAY", ["Acme", "Beta", "gamma"], id="today"),
        pytest.param("CreatedDate < YESTERDAY", [], id="yesterday"),
        pytest.param("CreatedDate = LAST_N_DAYS:3", ["Acme", "Beta", "gamma"], id="last-n-days"),
        pytest.param("IsDeleted = false", ["Acme", "Beta", "gamma"], id="boolean"),
    ],
)
def test_where(store: Store, where: str, expected: list[str]) -> None:
    assert names(store, f"SELECT Name FROM Account WHERE {where} ORDER BY Name") == expected


def test_order_limit_offset_and_nulls(store: Store) -> None:
    assert names(store, "SELECT Name FROM Account ORDER BY Name DESC") == ["gamma", "Beta", "Acme"]
    assert names(store, "SELECT Name FROM Account ORDER BY Industry") == ["gamma", "Acme", "Beta"]
    assert names(store, "SELECT Name FROM Account ORDER BY Industry NULLS LAST") == ["Acme", "Beta", "gamma"]
    assert names(store, "SELECT Name FROM Account ORDER BY Industry DESC") == ["Beta", "Acme", "gamma"]
    assert names(store, "SELECT Name FROM Account ORDER BY Industry DESC NULLS FIRST") == [
        "gamma",
        "Beta",
        "Acme",
    ]
    assert names(store, "SELECT Name FROM Account ORDER BY Name LIMIT 2 OFFSET 1") == ["Beta", "gamma"]
    assert names(store, "select name from account order by NumberOfEmployees asc limit 1") == ["Beta"]


def test_parent_fields_filter_and_sort(store: Store) -> None:
    soql = "SELECT LastName FROM Contact WHERE Account.Industry = 'Banking'"
    assert names(store, soql, "LastName") == ["Doe"]
    soql = "SELECT LastName FROM Contact ORDER BY Account.Name NULLS LAST"
    assert names(store, soql, "LastName") == ["Doe", "O'Brien"]


@pytest.mark.parametrize(
    ("literal", "expected"),
    [
        pytest.param(r"'O\'Brien'", ["O'Brien"], id="quote"),
        pytest.param(r"'O\'B%'", ["O'Brien"], id="quote-like"),
    ],
)
def test_string_escapes(store: Store, literal: str, expected: list[str]) -> None:
    op = "LIKE" if "%" in literal else "="
    assert names(store, f"SELECT LastName FROM Contact WHERE LastName {op} {literal}", "LastName") == expected


def test_like_escapes_match_literal_wildcards() -> None:
    s = make_store()
    for name in ("100% sure", "100 sure", "a_b", "axb", "back\\slash", "line\nbreak"):
        add(s, "Account", Name=name)
    assert names(s, r"SELECT Name FROM Account WHERE Name LIKE '100\%%'") == ["100% sure"]
    assert names(s, r"SELECT Name FROM Account WHERE Name LIKE 'a\_b'") == ["a_b"]
    assert names(s, r"SELECT Name FROM Account WHERE Name LIKE 'a_b' ORDER BY Name") == ["a_b", "axb"]
    assert names(s, r"SELECT Name FROM Account WHERE Name = 'back\\slash'") == ["back\\slash"]
    assert names(s, r"SELECT Name FROM Account WHERE Name = 'line\nbreak'") == ["line\nbreak"]


def soql_quote(value: str) -> str:
    """How a client must quote a value for ``=``/``IN`` (backslash first, then quotes)."""
    escaped = value.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n").replace("\r", "\\r")
    return f"'{escaped.replace(chr(9), chr(92) + 't')}'"


@given(
    st.text(
        alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"),
        min_size=1,
        max_size=30,
    )
)
def test_quoted_values_round_trip(value: str) -> None:
    s = make_store()
    table = s.table("Account")
    assert table is not None
    s.insert(table, {"Name": value})
    s.insert(table, {"Name": value + "x"})
    assert names(s, f"SELECT Name FROM Account WHERE Name = {soql_quote(value)}") == [value]
    assert names(s, f"SELECT Name FROM Account WHERE Name IN ({soql_quote(value)}, 'zz')") == [value]


@pytest.mark.parametrize(
    ("soql", "code"),
    [
        pytest.param("SELECT FROM Account", "MALFORMED_QUERY", id="no-fields"),
        pytest.param("SELECT Name Account", "MALFORMED_QUERY", id="no-from"),
        pytest.param("SELECT Name FROM Account WHERE", "MALFORMED_QUERY", id="dangling-where"),
        pytest.param("SELECT Name FROM Account WHERE Name = 'x", "MALFORMED_QUERY", id="open-string"),
        pytest.param("SELECT Name FROM Account WHERE Name = 'a\\qb'", "MALFORMED_QUERY", id="bad-escape"),
        pytest.param(
            "SELECT Name FROM Account WHERE Name = 'a\\%'", "MALFORMED_QUERY", id="like-escape-outside-like"
        ),
        pytest.param("SELECT Name FROM Account LIMIT x", "MALFORMED_QUERY", id="bad-limit"),
        pytest.param("SELECT Name FROM Account WHERE Name > null", "MALFORMED_QUERY", id="null-ordering"),
        pytest.param(
            "SELECT Name FROM Account WHERE Id IN (SELECT AccountId FROM Contact)",
            "MALFORMED_QUERY",
            id="semi-join",
        ),
        pytest.param("SELECT FullName FROM Account", "INVALID_FIELD", id="unknown-field"),
        pytest.param("SELECT Name FROM Account WHERE Foo__c = 1", "INVALID_FIELD", id="unknown-where-field"),
        pytest.param("SELECT Nope__r.Name FROM Account", "INVALID_FIELD", id="unknown-relationship"),
        pytest.param("SELECT Name FROM Nope__c", "INVALID_TYPE", id="unknown-object"),
        pytest.param(
            "SELECT Name FROM Account WHERE Name = 5", "INVALID_QUERY_FILTER_OPERATOR", id="type-mismatch"
        ),
        pytest.param(
            "SELECT Name FROM Account WHERE NumberOfEmployees = '5'",
            "INVALID_QUERY_FILTER_OPERATOR",
            id="quoted-number",
        ),
    ],
)
def test_errors(store: Store, soql: str, code: str) -> None:
    with pytest.raises(SoqlError) as info:
        compile_query(store, soql)
    assert info.value.code == code


def test_invalid_field_message_has_salesforce_layout(store: Store) -> None:
    with pytest.raises(SoqlError) as info:
        compile_query(store, "SELECT Id, FullName FROM Account")
    assert info.value.message.startswith(
        "\nSELECT Id, FullName FROM Account\n           ^\nERROR at Row:1:Column:12\n"
    )
    assert "No such column 'FullName' on entity 'Account'" in info.value.message


def test_count_and_index_probe(store: Store) -> None:
    query = parse("SELECT COUNT() FROM Account")
    assert query.count_only
    compiled = compile_query(
        store, "SELECT Id FROM Account WHERE PassFort_Profile_Id__c IN ('p-3') AND Name != 'x'"
    )
    assert compiled.index_probe == ("PassFort_Profile_Id__c", ("p-3",))
    assert (
        compile_query(
            store, "SELECT Id FROM Account WHERE Name = 'x' OR Id = '001000000000001AAA'"
        ).index_probe
        is None
    )


def test_ids_compare_in_15_and_18_character_forms(store: Store) -> None:
    account_id = names(store, "SELECT Id FROM Account WHERE Name = 'Acme'", "Id")[0]
    assert names(store, f"SELECT Name FROM Account WHERE Id = '{account_id[:15]}'") == ["Acme"]
    assert names(store, f"SELECT Name FROM Account WHERE Id IN ('{account_id.lower()}')") == ["Acme"]
