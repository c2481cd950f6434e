"""Lookups that used to miss or break: normalized keys that are no substring of the stored value,
typed match fields, 15-character reference ids and malformed ids.

Each end-to-end test runs the adapter against the bundled emulator (one per module: the tests
write records with distinct values and do not inject faults).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fieldline.adapters.salesforce.emulator.server import EmulatorHandle
from fieldline.adapters.salesforce.lookup import build_queries, like_patterns, match_records
from fieldline.contracts import (
    FieldDescription,
    FieldType,
    LookupRequest,
    ObjectDescription,
    Write,
    WriteOperation,
)
from fieldline.expressions.normalizers import BUILTIN_NORMALIZERS
from fieldline.planning.evaluation import compose_normalizers
from fieldline.plugins.manager import get_plugin_manager, normalizer_registry
from tests.apply_results import finished

APP = "PassFort_Application__c"


def _normalizer(*names: str) -> Any:
    registry = normalizer_registry(get_plugin_manager(load_entrypoints=False)) or BUILTIN_NORMALIZERS
    return compose_normalizers(names, registry)  # the chain the engine builds for a match rule


def _create(target: Any, object_name: str, rows: list[dict[str, Any]]) -> list[str]:
    writes = [
        Write(key=f"{object_name}-{index}", object=object_name, operation=WriteOperation.CREATE, fields=row)
        for index, row in enumerate(rows)
    ]
    results = finished(target.apply(writes))
    assert all(result.ok for result in results), results
    return [str(result.target_id) for result in results]


def _normalized_lookup(target: Any, object_name: str, field: str, keys: set[str], *names: str) -> Any:
    request = LookupRequest(
        object=object_name,
        field=field,
        values=frozenset(keys),
        fields=frozenset({"Name"}),
        normalize=names,
        normalizer=_normalizer(*names),
    )
    return target.lookup([request])[(object_name, field, names)]


def _ids(found: Any, key: Any) -> list[str]:
    return [record["Id"] for record in found.get(key, ())]


# --- 1. normalized keys that are not a substring of the stored value ---------------------------


def test_like_patterns_per_normalizer() -> None:
    assert like_patterns("+15550109999", ("digits",)) == ["'%+%1%5%5%5%0%1%0%9%9%9%9%'"]
    assert like_patterns("E Corp Ltd", ("collapse_whitespace",)) == ["'%E%Corp%Ltd%'"]
    assert like_patterns("a_b c", ("trim", "collapse_whitespace")) == [r"'%a\_b%c%'"]
    assert like_patterns("jane@x.com", ("email",)) == ["'%jane@x.com%'"]
    assert like_patterns("test.com", ("root_domain",)) == ["'%test.com%'"]
    assert like_patterns("bücher.de", ("root_domain",)) == ["'%b%cher.de%'", "'%xn--bcher-kva.de%'"]
    assert like_patterns("STRASSE", ("upper",)) == ["'%R%E%'"]  # "Straße" upper-cases to it
    assert like_patterns("x", ("trim", "my_plugin_normalizer")) is None


def test_digits_lookup_finds_formatted_phone_numbers(
    shared_emulator: EmulatorHandle, make_target: Any
) -> None:
    target = make_target(shared_emulator)
    ids = _create(
        target,
        "Account",
        [
            {"Name": "phone-a", "Phone": "+1 (555) 010-9999"},
            {"Name": "phone-b", "Phone": "555.010.7777"},
            {"Name": "phone-c", "Phone": "+1 (555) 010-9998"},
        ],
    )
    found = _normalized_lookup(target, "Account", "Phone", {"+15550109999", "5550107777"}, "digits")
    assert _ids(found, "+15550109999") == [ids[0]]
    assert _ids(found, "5550107777") == [ids[1]]


def test_collapse_whitespace_lookup_finds_runs_of_spaces(
    shared_emulator: EmulatorHandle, make_target: Any
) -> None:
    target = make_target(shared_emulator)
    ids = _create(target, "Account", [{"Name": "E  Corp \t Ltd"}, {"Name": "E Corp Limited"}])
    found = _normalized_lookup(target, "Account", "Name", {"E Corp Ltd"}, "collapse_whitespace")
    assert _ids(found, "E Corp Ltd") == [ids[0]]


def test_root_domain_lookup_finds_punycode_and_unicode_spellings(
    shared_emulator: EmulatorHandle, make_target: Any
) -> None:
    target = make_target(shared_emulator)
    ids = _create(
        target,
        "Account",
        [
            {"Name": "idn-a", "Website": "http://xn--bcher-kva.de"},
            {"Name": "idn-b", "Website": "https://www.Bücher.de/shop"},
            {"Name": "idn-c", "Website": "http://buecher.de"},
        ],
    )
    found = _normalized_lookup(target, "Account", "Website", {"bücher.de"}, "root_domain")
    assert _ids(found, "bücher.de") == sorted(ids[:2])


def test_unknown_normalizer_scans_the_field(shared_emulator: EmulatorHandle, make_target: Any) -> None:
    def reverse(value: Any) -> Any:
        return value[::-1] if isinstance(value, str) else None

    target = make_target(shared_emulator)
    ids = _create(target, "Account", [{"Name": "scan-a", "AccountNumber": "XYZ-1"}])
    request = LookupRequest(
        object="Account",
        field="AccountNumber",
        values=frozenset({"1-ZYX"}),
        fields=frozenset({"Name"}),
        normalize=("reverse",),
        normalizer=reverse,
    )
    queries, _ = build_queries([request], {"Account": target.describe("Account")})
    assert [query.soql for query in queries] == [
        "SELECT Id, AccountNumber, Name FROM Account WHERE AccountNumber != null"
    ]
    found = target.lookup([request])[("Account", "AccountNumber", ("reverse",))]
    assert _ids(found, "1-ZYX") == ids


# --- 2. typed match fields -------------------------------------------------------------------


def test_typed_match_fields_get_bare_literals(shared_emulator: EmulatorHandle, make_target: Any) -> None:
    target = make_target(shared_emulator)
    (account,) = _create(target, "Account", [{"Name": "typed", "NumberOfEmployees": 4242}])
    contacts = _create(
        target,
        "Contact",
        [
            {"LastName": "typed-a", "Birthdate": "1980-02-29", "HasOptedOutOfEmail": True},
            {"LastName": "typed-b", "Birthdate": "1980-03-01", "HasOptedOutOfEmail": False},
        ],
    )
    (app,) = _create(
        target,
        APP,
        [
            {
                "Application_ID__c": "typed-app",
                "Status__c": "Applied",
                "Last_Event_At__c": "2031-05-06T07:08:09Z",
            }
        ],
    )
    requests = [
        LookupRequest(
            object="Account",
            field="NumberOfEmployees",
            values=frozenset({"4242", "lots"}),  # "lots" cannot be a number: left out
            fields=frozenset({"Name"}),
        ),
        LookupRequest(
            object="Contact",
            field="Birthdate",
            values=frozenset({"1980-02-29", dt.date(1980, 3, 1), "not a date"}),
            fields=frozenset({"LastName"}),
        ),
        LookupRequest(
            object="Contact", field="HasOptedOutOfEmail", values=frozenset({"true"}), fields=frozenset()
        ),
        LookupRequest(
            object=APP,
            field="Last_Event_At__c",
            values=frozenset({"2031-05-06T09:08:09+02:00", "2031-05-06T07:08:10Z"}),
            fields=frozenset(),
        ),
    ]
    descriptions = {name: target.describe(name) for name in ("Account", "Contact", APP)}
    queries, _ = build_queries(requests, descriptions)
    text = " ".join(query.soql for query in queries)
    assert "NumberOfEmployees IN (4242)" in text
    assert "Birthdate IN (1980-02-29, 1980-03-01)" in text
    assert "HasOptedOutOfEmail IN (true)" in text
    assert "Last_Event_At__c IN (2031-05-06T07:08:09Z, 2031-05-06T07:08:10Z)" in text

    found = target.lookup(requests)
    assert _ids(found[("Account", "NumberOfEmployees", ())], "4242") == [account]
    assert not found[("Account", "NumberOfEmployees", ())].get("lots")
    birthdays = found[("Contact", "Birthdate", ())]
    assert _ids(birthdays, "1980-02-29") == [contacts[0]]
    assert _ids(birthdays, dt.date(1980, 3, 1)) == [contacts[1]]
    assert contacts[0] in _ids(found[("Contact", "HasOptedOutOfEmail", ())], "true")
    assert contacts[1] not in _ids(found[("Contact", "HasOptedOutOfEmail", ())], "true")
    events = found[(APP, "Last_Event_At__c", ())]
    assert _ids(events, "2031-05-06T09:08:09+02:00") == [app]
    assert not events.get("2031-05-06T07:08:10Z")


def test_numbers_match_as_numbers() -> None:
    description = ObjectDescription(
        name="Thing__c",
        fields={
            "Id": FieldDescription(name="Id", type=FieldType.ID),
            "Count__c": FieldDescription(name="Count__c", type=FieldType.DOUBLE),
        },
    )
    request = LookupRequest(
        object="Thing__c", field="Count__c", values=frozenset({"5", 7, "1e1", "x"}), fields=frozenset()
    )
    queries, groups = build_queries([request], {"Thing__c": description})
    assert [query.soql for query in queries] == [
        "SELECT Id, Count__c FROM Thing__c WHERE Count__c IN (10, 5, 7)"
    ]
    records = [{"Id": "1", "Count__c": 5.0}, {"Id": "2", "Count__c": 7}, {"Id": "3", "Count__c": 10}]
    result = match_records(groups, {queries[0].keys[0]: records})[("Thing__c", "Count__c", ())]
    assert {value: _ids(result, value) for value in result} == {"5": ["1"], 7: ["2"], "1e1": ["3"]}


# --- 3. and 4. ids on reference fields; malformed ids -----------------------------------------


def test_reference_field_matches_15_character_ids(shared_emulator: EmulatorHandle, make_target: Any) -> None:
    target = make_target(shared_emulator)
    (account,) = _create(target, "Account", [{"Name": "parent-of-contact"}])
    (contact,) = _create(target, "Contact", [{"LastName": "child", "AccountId": account}])
    short = account[:15]
    request = LookupRequest(
        object="Contact", field="AccountId", values=frozenset({short}), fields=frozenset()
    )
    found = target.lookup([request])[("Contact", "AccountId", ())]
    assert _ids(found, short) == [contact]


def test_malformed_id_matches_nothing_even_with_its_prefix_in_the_batch() -> None:
    description = ObjectDescription(
        name="Thing__c",
        fields={
            "Id": FieldDescription(name="Id", type=FieldType.ID),
            "Owner__c": FieldDescription(name="Owner__c", type=FieldType.REFERENCE),
        },
    )
    good = "a0X000000000001"
    bad = good + "-x!"
    requests = [
        LookupRequest(object="Thing__c", field=field, values=frozenset({good, bad}), fields=frozenset())
        for field in ("Id", "Owner__c")
    ]
    queries, groups = build_queries(requests, {"Thing__c": description})
    records = [{"Id": good + "AAA", "Owner__c": good + "AAA"}]
    result = match_records(groups, dict.fromkeys(queries[0].keys, records))
    for field in ("Id", "Owner__c"):
        assert _ids(result[("Thing__c", field, ())], good) == [good + "AAA"]
        assert not result[("Thing__c", field, ())].get(bad)
