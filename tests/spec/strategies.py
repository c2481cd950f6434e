"""Hypothesis strategies for spec documents: arbitrary JSON, and spec-shaped documents that mix
valid and invalid parts."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

NAMES = st.sampled_from(["applicant", "application", "contact", "a", "1bad", "", "x y"])
EXPRESSIONS = st.one_of(
    st.sampled_from(
        [
            "id",
            "display_name",
            "applications[]",
            "lower(name)",
            "root().customer_ref",
            "a ||",
            "foo[0",
            "lowr(x)",
            "`1`",
            "'it''s'",
            '"quoted\\""',
            "",
        ]
    ),
    st.text(max_size=12),
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.text(max_size=8),
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=12,
)


def _maybe(value: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(value, JSON_VALUES)


FIELD_OBJECTS = st.fixed_dictionaries(
    {},
    optional={
        "value": _maybe(EXPRESSIONS),
        "const": JSON_VALUES,
        "ref": _maybe(NAMES),
        "strategy": _maybe(st.sampled_from(["override", "if_empty", "on_create", "never"])),
        "map": _maybe(st.dictionaries(st.text(max_size=5), SCALARS, max_size=3)),
        "unmapped": _maybe(
            st.sampled_from(["error", "keep", "skip", "drop"]) | st.builds(lambda v: {"const": v}, SCALARS)
        ),
        "default": JSON_VALUES,
        "nulls": _maybe(st.sampled_from(["skip", "clear", "wipe"])),
        "extra": SCALARS,
    },
)
FIELDS = st.one_of(EXPRESSIONS, FIELD_OBJECTS, SCALARS)
MATCH_RULES = st.fixed_dictionaries(
    {},
    optional={
        "field": _maybe(st.sampled_from(["Id", "Name", "Email", "Nope"])),
        "value": _maybe(EXPRESSIONS),
        "normalize": _maybe(
            st.sampled_from(["trim", "lower", "trm"]) | st.lists(st.sampled_from(["trim", "email", "x"]))
        ),
    },
)
RECORDS = st.fixed_dictionaries(
    {},
    optional={
        "name": _maybe(NAMES),
        "object": _maybe(st.sampled_from(["Account", "Contact", ""])),
        "mode": _maybe(st.sampled_from(["upsert", "update_only", "create_only", "disabled", "merge"])),
        "when": _maybe(EXPRESSIONS),
        "for_each": _maybe(EXPRESSIONS),
        "match": _maybe(st.lists(MATCH_RULES, max_size=3)),
        "on_many": _maybe(st.sampled_from(["error", "first", "skip", "all"])),
        "fields": _maybe(
            st.dictionaries(
                st.sampled_from(["Name", "name", "Email", "Applicant__c", "Id"]), FIELDS, max_size=4
            )
        ),
    },
)
ADAPTERS = st.fixed_dictionaries(
    {},
    optional={
        "adapter": _maybe(st.sampled_from(["fake", "files", "passfort", "salesforce", "nope"])),
        "options": _maybe(st.dictionaries(st.sampled_from(["path", "batch_size", "x"]), SCALARS, max_size=2)),
    },
)
SPEC_DOCUMENTS = st.fixed_dictionaries(
    {},
    optional={
        "fieldline": _maybe(st.just(1)),
        "name": _maybe(st.just("generated")),
        "source": _maybe(ADAPTERS),
        "target": _maybe(ADAPTERS),
        "records": _maybe(st.lists(RECORDS, max_size=3)),
    },
)
