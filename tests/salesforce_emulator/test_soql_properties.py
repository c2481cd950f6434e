"""SOQL WHERE evaluation against a small Python oracle, on random records and random conditions.

Conditions are rendered with the fewest parentheses AND-over-OR precedence allows, so the property
also checks the parser's precedence, quoting and NOT handling.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hypothesis import given, strategies as st

from fieldline.adapters.salesforce.emulator.org import load_org
from fieldline.adapters.salesforce.emulator.soql import compile_query
from fieldline.adapters.salesforce.emulator.store import Store
from tests.salesforce_emulator.conftest import ORG_FILE

NAMES = ["alpha", "Beta", "O'Neil", "back\\slash", "x_y", "50%"]
INDUSTRIES = ["Banking", "Retail", "Energy"]
ORG = load_org(ORG_FILE)  # read once: each example gets a fresh store over the same metadata


@dataclass(frozen=True)
class Cmp:
    field: str
    op: str
    value: Any


@dataclass(frozen=True)
class Node:
    op: str  # AND | OR | NOT
    items: tuple[Any, ...]


def quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def literal(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, str):
        return quote(value)
    return str(value)


def render(node: Any, parent: str | None = None) -> str:
    if isinstance(node, Cmp):
        if node.op in ("IN", "NOT IN"):
            return f"{node.field} {node.op} ({', '.join(literal(v) for v in node.value)})"
        return f"{node.field} {node.op} {literal(node.value)}"
    if node.op == "NOT":
        return f"NOT ({render(node.items[0])})"
    text = f" {node.op} ".join(render(item, node.op) for item in node.items)
    needs_parens = parent == "AND" and node.op == "OR"
    return f"({text})" if needs_parens else text


def fold(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def oracle(node: Any, record: dict[str, Any]) -> bool:
    if isinstance(node, Node):
        results = [oracle(item, record) for item in node.items]
        if node.op == "NOT":
            return not results[0]
        return all(results) if node.op == "AND" else any(results)
    left = fold(record.get(node.field))
    if node.op in ("IN", "NOT IN"):
        inside = left in {fold(v) for v in node.value}
        return inside if node.op == "IN" else not inside
    right = fold(node.value)
    if node.op == "=":
        return bool(left == right)
    if node.op == "!=":
        return bool(left != right)
    if left is None or right is None:
        return False
    return bool({"<": left < right, ">": left > right, "<=": left <= right, ">=": left >= right}[node.op])


name_values = st.sampled_from(NAMES)
number_values = st.integers(min_value=0, max_value=5)
comparisons = st.one_of(
    st.builds(Cmp, st.just("Name"), st.sampled_from(["=", "!=", "<", ">="]), name_values),
    st.builds(
        Cmp, st.just("Name"), st.sampled_from(["IN", "NOT IN"]), st.lists(name_values, min_size=1, max_size=3)
    ),
    st.builds(
        Cmp, st.just("NumberOfEmployees"), st.sampled_from(["=", "!=", "<", ">", "<=", ">="]), number_values
    ),
    st.builds(
        Cmp,
        st.just("Industry"),
        st.sampled_from(["=", "!="]),
        st.one_of(st.none(), st.sampled_from(INDUSTRIES)),
    ),
    st.builds(
        Cmp,
        st.just("Industry"),
        st.sampled_from(["IN", "NOT IN"]),
        st.lists(st.sampled_from(INDUSTRIES), min_size=1),
    ),
)
conditions = st.recursive(
    comparisons,
    lambda inner: st.one_of(
        st.builds(Node, st.sampled_from(["AND", "OR"]), st.lists(inner, min_size=2, max_size=3).map(tuple)),
        st.builds(Node, st.just("NOT"), st.tuples(inner)),
    ),
    max_leaves=6,
)
accounts = st.lists(
    st.fixed_dictionaries(
        {
            "Name": st.one_of(name_values, name_values.map(str.upper)),
            "NumberOfEmployees": st.one_of(st.none(), number_values),
            "Industry": st.one_of(st.none(), st.sampled_from(INDUSTRIES)),
        }
    ),
    max_size=8,
)


@given(rows=accounts, condition=conditions)
def test_where_matches_the_oracle(rows: list[dict[str, Any]], condition: Any) -> None:
    store = Store(ORG)
    table = store.table("Account")
    assert table is not None
    expected = set()
    for row in rows:
        record = store.insert(table, dict(row))
        if oracle(condition, row):
            expected.add(record["Id"])
    soql = f"SELECT Id FROM Account WHERE {render(condition)}"
    got = {r["Id"] for r in compile_query(store, soql).run(store)}
    assert got == expected, soql


@given(
    rows=accounts,
    descending=st.booleans(),
    nulls=st.sampled_from(["", " NULLS FIRST", " NULLS LAST"]),
    limit=st.one_of(st.none(), st.integers(min_value=0, max_value=5)),
)
def test_order_by_matches_the_oracle(
    rows: list[dict[str, Any]], descending: bool, nulls: str, limit: int | None
) -> None:
    store = Store(ORG)
    table = store.table("Account")
    assert table is not None
    inserted = [store.insert(table, dict(row)) for row in rows]
    direction = " DESC" if descending else ""
    soql = f"SELECT Id FROM Account ORDER BY NumberOfEmployees{direction}{nulls}, Name, Id"
    if limit is not None:
        soql += f" LIMIT {limit}"
    nulls_first = nulls == " NULLS FIRST" or (nulls == "" and not descending)
    with_value = [r for r in inserted if r["NumberOfEmployees"] is not None]
    without = [r for r in inserted if r["NumberOfEmployees"] is None]
    # Python's sort is stable: sort by the later keys first, then by the main key.
    for group in (with_value, without):
        group.sort(key=lambda r: (r["Name"].lower(), r["Id"].lower()))
    with_value.sort(key=lambda r: r["NumberOfEmployees"], reverse=descending)
    expected = without + with_value if nulls_first else with_value + without
    expected_ids = [r["Id"] for r in expected][: limit if limit is not None else None]
    assert [r["Id"] for r in compile_query(store, soql).run(store)] == expected_ids, soql
