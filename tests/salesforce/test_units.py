"""Pure parts of the adapter: describe parsing, pre-flight, lookup matching, budget, retry, bulk errors."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote_plus

import pytest
from hypothesis import given, strategies as st

from fieldline.adapters.salesforce import soql
from fieldline.adapters.salesforce.budget import ApiBudget
from fieldline.adapters.salesforce.bulk import _bulk_error, csv_cell
from fieldline.adapters.salesforce.describe import object_description
from fieldline.adapters.salesforce.lookup import build_queries, match_records
from fieldline.adapters.salesforce.options import parse_options
from fieldline.adapters.salesforce.preflight import preflight
from fieldline.adapters.salesforce.retry import RetryPolicy
from fieldline.adapters.salesforce.session import ApiUsage, SalesforceSession, parse_api_usage
from fieldline.contracts import FieldType, LookupRequest, Write, WriteOperation
from fieldline.errors import BudgetExhaustedError, ConfigError

DESCRIBE: dict[str, Any] = {
    "name": "Thing__c",
    "label": "Thing",
    "createable": True,
    "updateable": True,
    "fields": [
        {
            "name": "Id",
            "type": "id",
            "nillable": False,
            "createable": False,
            "updateable": False,
            "defaultedOnCreate": True,
            "length": 18,
        },
        {
            "name": "Name",
            "type": "string",
            "nillable": False,
            "createable": True,
            "updateable": True,
            "defaultedOnCreate": False,
            "length": 10,
        },
        {
            "name": "Ext__c",
            "type": "string",
            "nillable": True,
            "createable": True,
            "updateable": True,
            "externalId": True,
            "unique": True,
            "length": 36,
        },
        {
            "name": "Status__c",
            "type": "picklist",
            "nillable": True,
            "createable": True,
            "updateable": True,
            "restrictedPicklist": True,
            "picklistValues": [
                {"value": "Open", "active": True},
                {"value": "Closed", "active": True},
                {"value": "Old", "active": False},
            ],
        },
        {
            "name": "Owner__c",
            "type": "reference",
            "referenceTo": ["Account"],
            "nillable": True,
            "createable": True,
            "updateable": False,
        },
        {
            "name": "Flag__c",
            "type": "boolean",
            "nillable": False,
            "createable": True,
            "updateable": True,
            "defaultedOnCreate": False,
        },
        {"name": "Count__c", "type": "double", "nillable": True, "length": 0},
    ],
}
DESCRIPTION = object_description(DESCRIBE)


def test_describe_translation() -> None:
    assert DESCRIPTION.blank_is_null
    name = DESCRIPTION.fields["Name"]
    assert name.required
    assert name.length == 10
    assert not DESCRIPTION.fields["Id"].required  # defaulted on create
    assert not DESCRIPTION.fields["Flag__c"].required  # booleans default to false
    assert DESCRIPTION.fields["Ext__c"].external_id
    assert DESCRIPTION.fields["Status__c"].picklist_values == ("Open", "Closed")
    assert DESCRIPTION.fields["Status__c"].restricted_picklist
    assert DESCRIPTION.fields["Owner__c"].reference_to == ("Account",)
    assert DESCRIPTION.fields["Count__c"].length is None
    assert DESCRIPTION.field("ext__C") is DESCRIPTION.fields["Ext__c"]
    assert DESCRIPTION.fields["Count__c"].type is FieldType.DOUBLE


def test_describe_keeps_salesforce_type_names_and_tolerates_new_ones() -> None:
    described = object_description(
        {
            "name": "X",
            "fields": [{"name": "Where__c", "type": "anyType"}, {"name": "New__c", "type": "hologram"}],
        }
    )
    assert described.fields["Where__c"].type == "anyType"  # the same word describe --json shows
    assert described.fields["New__c"].type is FieldType.OTHER


def _write(operation: WriteOperation, fields: dict[str, Any], **extra: Any) -> Write:
    return Write(key="k", object="Thing__c", operation=operation, fields=fields, **extra)


@pytest.mark.parametrize(
    ("write", "code"),
    [
        pytest.param(_write(WriteOperation.CREATE, {"Name": "ok"}), None, id="valid-create"),
        pytest.param(
            _write(WriteOperation.CREATE, {"Ext__c": "x"}), "REQUIRED_FIELD_MISSING", id="missing-required"
        ),
        pytest.param(
            _write(WriteOperation.CREATE, {"Name": ""}), "REQUIRED_FIELD_MISSING", id="blank-required"
        ),
        pytest.param(
            _write(WriteOperation.CREATE, {"Name": "a", "Status__c": "Nope"}),
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            id="picklist",
        ),
        pytest.param(
            _write(WriteOperation.CREATE, {"Name": "a", "Status__c": "Old"}),
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            id="inactive-value",
        ),
        pytest.param(
            _write(WriteOperation.CREATE, {"Name": "a", "Status__c": None}), None, id="null-picklist"
        ),
        pytest.param(_write(WriteOperation.CREATE, {"Name": "x" * 11}), "STRING_TOO_LONG", id="too-long"),
        pytest.param(
            _write(WriteOperation.CREATE, {"Name": "a", "Nope__c": 1}), "INVALID_FIELD", id="unknown-field"
        ),
        pytest.param(
            _write(WriteOperation.CREATE, {"Name": "a", "Id": "001"}),
            "INVALID_FIELD_FOR_INSERT_UPDATE",
            id="not-createable",
        ),
        pytest.param(
            _write(WriteOperation.UPDATE, {"Owner__c": "001"}, target_id="a0X1"),
            "INVALID_FIELD_FOR_INSERT_UPDATE",
            id="not-updateable",
        ),
        pytest.param(
            _write(WriteOperation.UPDATE, {"Status__c": "Open"}, target_id="a0X1"), None, id="valid-update"
        ),
        pytest.param(
            _write(WriteOperation.UPDATE, {"Status__c": "Open"}), "MISSING_ID", id="update-without-id"
        ),
        pytest.param(
            _write(WriteOperation.UPSERT, {"Name": "a", "Ext__c": "e"}, external_id_field="Ext__c"),
            None,
            id="valid-upsert",
        ),
        pytest.param(
            _write(WriteOperation.UPSERT, {"Name": "a"}, external_id_field="Ext__c"),
            "REQUIRED_FIELD_MISSING",
            id="upsert-no-key",
        ),
        pytest.param(
            _write(WriteOperation.UPSERT, {"Name": "a"}, external_id_field="Name"),
            "INVALID_FIELD",
            id="upsert-not-external",
        ),
    ],
)
def test_preflight(write: Write, code: str | None) -> None:
    error = preflight(write, DESCRIPTION)
    if code is None:
        assert error is None
    else:
        assert error is not None
        assert error.code == code
        assert error.stage == "preflight"
        assert not error.retriable


def _request(
    field: str, values: set[Any], normalize: tuple[str, ...] = (), normalizer: Any = None
) -> LookupRequest:
    return LookupRequest(
        object="Thing__c",
        field=field,
        values=frozenset(values),
        fields=frozenset({"Name", "Nope__c"}),
        normalize=normalize,
        normalizer=normalizer,
    )


def test_lookup_queries_select_only_known_fields_and_merge_requests() -> None:
    requests = [_request("Ext__c", {"a", "b"}), _request("Ext__c", {"c", None, ""})]
    queries, _ = build_queries(requests, {"Thing__c": DESCRIPTION})
    assert [query.soql for query in queries] == [
        "SELECT Id, Ext__c, Name FROM Thing__c WHERE Ext__c IN ('a', 'b', 'c')"
    ]


def test_lookup_normalized_uses_like() -> None:
    queries, _ = build_queries(
        [_request("Name", {"test.com", "x_y.org"}, ("root_domain",), str.lower)], {"Thing__c": DESCRIPTION}
    )
    assert [query.soql for query in queries] == [
        r"SELECT Id, Name FROM Thing__c WHERE Name LIKE '%test.com%' OR Name LIKE '%x\_y.org%'"
    ]


def test_match_records_case_insensitive_ids_and_sorting() -> None:
    request = _request("Ext__c", {"ABC", "missing"})
    id_request = _request("Id", {"a0X000000000001"})
    queries, groups = build_queries([request, id_request], {"Thing__c": DESCRIPTION})
    assert [query.soql for query in queries] == [
        "SELECT Id, Ext__c, Name FROM Thing__c "
        "WHERE Ext__c IN ('ABC', 'missing') OR Id IN ('a0X000000000001')"
    ]
    shared: list[dict[str, Any]] = [
        {"attributes": {"type": "Thing__c"}, "Id": "a0X000000000009AAA", "Ext__c": "abc"},
        {"attributes": {"type": "Thing__c"}, "Id": "a0X000000000002AAA", "Ext__c": "Abc"},
        {"Id": "a0X000000000001AAA", "Ext__c": None},
    ]
    # One query served both lookups: each gets all its records and keeps only its matches.
    found = dict.fromkeys(queries[0].keys, shared)
    result = match_records(groups, found)
    matches = result[("Thing__c", "Ext__c", ())]
    assert [record["Id"] for record in matches["ABC"]] == ["a0X000000000002AAA", "a0X000000000009AAA"]
    assert "attributes" not in matches["ABC"][0]
    assert not matches.get("missing")
    assert [record["Id"] for record in result[("Thing__c", "Id", ())]["a0X000000000001"]] == [
        "a0X000000000001AAA"
    ]


def test_match_records_normalizes_target_side() -> None:
    def root(value: Any) -> Any:
        return value.lower().removeprefix("https://").removeprefix("www.").split("/")[0]

    request = _request("Name", {"test.com"}, ("root_domain",), root)
    queries, groups = build_queries([request], {"Thing__c": DESCRIPTION})
    found = {
        queries[0].keys[0]: [
            {"Id": "2", "Name": "https://www.TEST.com/app"},
            {"Id": "1", "Name": "https://test.com.evil.org"},  # contains the text, different root
        ]
    }
    result = match_records(groups, found)[("Thing__c", "Name", ("root_domain",))]
    assert [record["Id"] for record in result["test.com"]] == ["2"]


def test_budget_share_caps_calls() -> None:
    budget = ApiBudget(share=0.5)
    budget.add(1)
    budget.observe(ApiUsage(used=91, limit=100))  # 10 left before this run's first call
    assert budget.cap == 5
    budget.add(3)
    budget.check()
    budget.add(1)
    with pytest.raises(BudgetExhaustedError) as caught:
        budget.check()
    assert caught.value.context["cap"] == 5


def test_budget_without_share_never_refuses() -> None:
    budget = ApiBudget()
    budget.add(10_000)
    budget.observe(ApiUsage(used=100, limit=100))
    budget.check()  # the org's limit is Salesforce's to enforce (403), not a stale header's


def test_api_usage_header() -> None:
    assert parse_api_usage("api-usage=18/5000") == ApiUsage(18, 5000)
    assert parse_api_usage("api-usage=18/5000; per-app-api-usage=17/250(appName=x)") == ApiUsage(18, 5000)
    assert parse_api_usage("per-app-api-usage=17/250(appName=x)") is None
    assert parse_api_usage(None) is None


def test_retry_policy_backs_off_and_honours_retry_after() -> None:
    slept: list[float] = []
    policy = RetryPolicy(base_delay=1.0, max_delay=8.0, sleep=slept.append, rng=lambda: 1.0)
    for attempt in range(5):
        policy.wait(attempt)
    policy.wait(0, retry_after=7.0)
    policy.wait(0, retry_after=10_000.0)
    assert slept == [1.0, 2.0, 4.0, 8.0, 8.0, 7.0, 300.0]


def test_session_rewrites_https_to_plain_http_emulator_only() -> None:
    with SalesforceSession(plain_http_base="http://127.0.0.1:8123") as session:
        assert (
            session.rewrite("https://127.0.0.1:8123/services/data/") == "http://127.0.0.1:8123/services/data/"
        )
        assert session.rewrite("https://login.salesforce.com/x") == "https://login.salesforce.com/x"
    with SalesforceSession() as session:
        assert session.rewrite("https://127.0.0.1:8123/x") == "https://127.0.0.1:8123/x"


def test_bulk_error_and_cells() -> None:
    error = _bulk_error(
        "UNABLE_TO_LOCK_ROW:unable to obtain exclusive access to this record or 1 records: 001:--"
    )
    assert error.code == "UNABLE_TO_LOCK_ROW"
    assert error.retriable
    assert error.message.startswith("unable to obtain")
    assert error.fields == ()
    error = _bulk_error("REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name")
    assert error.fields == ("Name",)
    assert not error.retriable
    assert csv_cell(None) == "#N/A"
    assert csv_cell(False) == "false"


@pytest.mark.parametrize(
    ("text", "code", "message", "fields"),
    [
        pytest.param(
            "REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --",
            "REQUIRED_FIELD_MISSING",
            "Required fields are missing: [Name]",
            ("Name",),
            id="one-field",
        ),
        pytest.param(
            "FIELD_CUSTOM_VALIDATION_EXCEPTION:Check both:Name,Phone --",
            "FIELD_CUSTOM_VALIDATION_EXCEPTION",
            "Check both",
            ("Name", "Phone"),
            id="two-fields",
        ),
        pytest.param(
            "UNABLE_TO_LOCK_ROW:unable to obtain exclusive access to this record or 1 records: 001x:--",
            "UNABLE_TO_LOCK_ROW",
            "unable to obtain exclusive access to this record or 1 records: 001x",
            (),
            id="no-fields",
        ),
        pytest.param("UNKNOWN_EXCEPTION:it broke", "UNKNOWN_EXCEPTION", "it broke", (), id="no-suffix"),
        pytest.param(
            "INVALID_FIELD:bad value: a b c",
            "INVALID_FIELD",
            "bad value: a b c",
            (),
            id="colon-in-message",
        ),
    ],
)
def test_bulk_error_sf_error_format(text: str, code: str, message: str, fields: tuple[str, ...]) -> None:
    error = _bulk_error(text)
    assert (error.code, error.message, error.fields) == (code, message, fields)


@pytest.mark.parametrize(
    "options",
    [
        pytest.param({"batch_size": 201}, id="batch-too-big"),
        pytest.param({"budget_share": 0}, id="share-zero"),
        pytest.param({"budget_share": 1.5}, id="share-too-big"),
        pytest.param({"bulk_threshold": "many"}, id="threshold-type"),
        pytest.param({"batchsize": 10}, id="unknown"),
    ],
)
def test_bad_options(options: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        parse_options(options)


def test_options_defaults() -> None:
    parsed = parse_options({"api_version": "v60", "budget_share": 0.25})
    assert parsed.api_version == "60.0"
    assert parsed.batch_size == 200
    assert parsed.bulk_threshold == 6000  # a Bulk job's ~6 calls write 6,000 records by composite
    assert parsed.budget_share == 0.25


@given(
    exact=st.sets(st.text(max_size=40), max_size=150),
    ids=st.sets(st.from_regex(r"a0X[0-9A-Za-z]{15}", fullmatch=True), max_size=150),
    domains=st.sets(st.from_regex(r"[a-z%_]{1,20}\.com", fullmatch=True), max_size=60),
    limit=st.integers(min_value=600, max_value=6000),
)
def test_combined_queries_cover_every_value_within_limits(
    exact: set[str], ids: set[str], domains: set[str], limit: int
) -> None:
    requests = [
        _request("Ext__c", set(exact)),
        _request("Id", set(ids)),
        _request("Name", set(domains), ("root_domain",), str.lower),
    ]
    base = 60
    queries, _ = build_queries(
        requests, {"Thing__c": DESCRIPTION}, base_length=base, max_url_length=limit, max_items=70
    )
    wanted = (
        {soql.literal(value) for value in exact if value}
        | {soql.literal(value) for value in ids}
        | {f"Name LIKE {soql.like_contains(value)}" for value in domains}
    )
    seen: list[str] = []
    for query in queries:
        where = query.soql.split(" WHERE ", 1)[1]
        items = _where_items(where)
        assert 1 <= len(items) <= 70
        if len(items) > 1:
            assert base + len(quote_plus(query.soql)) <= limit
        seen.extend(items)
    assert sorted(seen) == sorted(wanted)


def _where_items(where: str) -> list[str]:
    """The literals of IN lists and the LIKE conditions of a WHERE clause built by build_queries."""
    items: list[str] = []
    position = 0
    while position < len(where):
        if where.startswith(" OR ", position):
            position += 4
            continue
        field_end = where.index(" ", position)
        operator = where[field_end + 1 : where.index(" ", field_end + 1)]
        if operator == "LIKE":
            start = field_end + len(" LIKE ")
            end = _literal_end(where, start)
            items.append(where[position:end])
            position = end
        else:  # IN ('a', 'b')
            position = field_end + len(" IN (")
            while where[position] != ")":
                end = _literal_end(where, position)
                items.append(where[position:end])
                position = end + 2 if where.startswith(", ", end) else end
            position += 1
    return items


def _literal_end(text: str, start: int) -> int:
    assert text[start] == "'"
    position = start + 1
    while text[position] != "'":
        position += 2 if text[position] == "\\" else 1
    return position + 1


def test_preflight_reports_every_problem_of_a_record() -> None:
    from fieldline.adapters.salesforce.preflight import preflight, preflight_problems
    from fieldline.contracts import FieldDescription, ObjectDescription, Write, WriteOperation

    description = ObjectDescription(
        name="Thing__c",
        fields={
            "Name": FieldDescription(name="Name", type=FieldType.STRING, length=5, required=True),
            "Status__c": FieldDescription(
                name="Status__c",
                type=FieldType.PICKLIST,
                picklist_values=("Open", "Closed"),
                restricted_picklist=True,
            ),
            "Owner__c": FieldDescription(name="Owner__c", type=FieldType.STRING, required=True),
        },
    )
    write = Write(
        key="k",
        object="Thing__c",
        operation=WriteOperation.CREATE,
        fields={"Name": "far too long", "Status__c": "Pending", "Nope__c": 1},
    )
    problems = preflight_problems(write, description)
    assert [problem.code for problem in problems] == [
        "STRING_TOO_LONG",
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
        "INVALID_FIELD",
        "REQUIRED_FIELD_MISSING",
    ]
    combined = preflight(write, description)
    assert combined is not None
    assert combined.code == "STRING_TOO_LONG"
    assert "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST" in combined.message
    assert "Owner__c" in combined.message
    assert combined.fields == ("Name", "Status__c", "Nope__c", "Owner__c")
