"""Malformed ids never reach SOQL: Salesforce rejects a whole query for one of them."""

from __future__ import annotations

from fieldline.adapters.salesforce.lookup import build_queries
from fieldline.contracts import FieldDescription, FieldType, LookupRequest, ObjectDescription

ACCOUNT = ObjectDescription(
    name="Account",
    fields={"Id": FieldDescription(name="Id", type=FieldType.ID), "Name": FieldDescription(name="Name")},
    blank_is_null=True,
)


def test_only_well_formed_ids_are_queried() -> None:
    request = LookupRequest(
        object="Account",
        field="Id",
        values=frozenset({"001000000000001AAA", "001000000000002", "Account-000001", "x'; DROP"}),
        fields=frozenset({"Name"}),
    )
    queries, _ = build_queries([request], {"Account": ACCOUNT})
    (query,) = queries
    assert "'001000000000001AAA'" in query.soql
    assert "'001000000000002'" in query.soql
    assert "Account-000001" not in query.soql
    assert "DROP" not in query.soql


def test_no_query_when_no_id_is_well_formed() -> None:
    request = LookupRequest(
        object="Account", field="Id", values=frozenset({"not-an-id"}), fields=frozenset({"Name"})
    )
    queries, _ = build_queries([request], {"Account": ACCOUNT})
    assert queries == []
