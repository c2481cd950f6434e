"""Exact keys of a long run: answered from a copy of the object (in a temporary SQLite file) once
the run's queries have cost what reading it costs, with the answers the queries would give."""

from __future__ import annotations

from typing import Any

from hypothesis import given, strategies as st

from fieldline.adapters.salesforce import match_index
from fieldline.adapters.salesforce.emulator.server import EmulatorHandle
from fieldline.adapters.salesforce.exact_index import ExactIndex, IndexFile
from fieldline.adapters.salesforce.lookup import KeyKind, build_queries, match_records
from fieldline.contracts import (
    FieldDescription,
    FieldType,
    LookupRequest,
    ObjectDescription,
    Write,
    WriteOperation,
)
from tests.apply_results import finished

FIELD = "AccountNumber"


def _request(*values: Any, field: str = FIELD) -> LookupRequest:
    return LookupRequest(
        object="Account", field=field, values=frozenset(values), fields=frozenset({"Name", field})
    )


def _create(target: Any, *rows: tuple[str, str]) -> list[str]:
    writes = [
        Write(
            key=name, object="Account", operation=WriteOperation.CREATE, fields={"Name": name, FIELD: legacy}
        )
        for name, legacy in rows
    ]
    return [str(result.target_id) for result in finished(target.apply(writes))]


def _lookup_calls(emulator: EmulatorHandle) -> int:
    kinds = emulator.stats()["by_kind"]
    return int(kinds.get("query", 0)) + int(kinds.get("composite", 0)) + int(kinds.get("bulk_create_job", 0))


def test_queries_until_they_cost_what_the_read_does_then_the_copy(
    emulator: EmulatorHandle, make_target: Any, monkeypatch: Any
) -> None:
    monkeypatch.setattr(match_index, "EXACT_INDEX_AFTER_CALLS", 2.0)
    ids = _create(make_target(emulator), ("a", "K-1"), ("b", "k-2"), ("c", "K-3"))
    target = make_target(emulator)
    emulator.reset_stats()
    first = target.lookup([_request("K-1")])
    second = target.lookup([_request("K-2", "absent")])  # SOQL compares text case-insensitively
    assert _lookup_calls(emulator) == 2, "two queries, one call each"
    third = target.lookup([_request("k-3", "K-1")])  # the queries cost 2 calls: read the copy
    after_read = _lookup_calls(emulator)
    fourth = target.lookup([_request("K-2", "k-1", "nothing")])
    assert _lookup_calls(emulator) == after_read, "answered from the copy"
    key = ("Account", FIELD, ())
    assert [r["Id"] for r in first[key]["K-1"]] == [ids[0]]
    assert [r["Id"] for r in second[key]["K-2"]] == [ids[1]]
    assert "absent" not in second[key]
    assert [r["Id"] for r in third[key]["k-3"]] == [ids[2]]
    assert {value: [r["Id"] for r in records] for value, records in fourth[key].items()} == {
        "K-2": [ids[1]],
        "k-1": [ids[0]],
    }
    assert fourth[key]["K-2"][0]["Name"] == "b", "the mapped fields come with the record"


def test_the_runs_writes_are_merged_into_the_copy(
    emulator: EmulatorHandle, make_target: Any, monkeypatch: Any
) -> None:
    monkeypatch.setattr(match_index, "EXACT_INDEX_AFTER_CALLS", 0.0)
    target = make_target(emulator)
    (old_id,) = _create(target, ("old", "L-1"))
    key = ("Account", FIELD, ())
    assert [r["Id"] for r in target.lookup([_request("L-1")])[key]["L-1"]] == [old_id]
    (new_id,) = _create(target, ("new", "L-2"))
    renamed = Write(
        key="rename",
        object="Account",
        operation=WriteOperation.UPDATE,
        fields={"Name": "renamed", FIELD: "L-3"},
        target_id=old_id,
    )
    finished(target.apply([renamed]))
    emulator.reset_stats()
    found = target.lookup([_request("L-1", "L-2", "L-3")])[key]
    assert int(emulator.stats()["api_usage"]) == 0
    assert set(found) == {"L-2", "L-3"}, "re-filed under its new value"
    assert [r["Id"] for r in found["L-2"]] == [new_id]
    assert found["L-3"][0]["Name"] == "renamed"


def test_a_new_run_starts_with_queries_again(
    emulator: EmulatorHandle, make_target: Any, monkeypatch: Any
) -> None:
    monkeypatch.setattr(match_index, "EXACT_INDEX_AFTER_CALLS", 0.0)
    target = make_target(emulator)
    target.lookup([_request("x")])
    _create(make_target(emulator), ("other", "M-1"))  # someone else writes meanwhile
    target.begin_run()
    assert "M-1" in target.lookup([_request("M-1")])[("Account", FIELD, ())]


def test_never_keeps_the_queries(emulator: EmulatorHandle, make_target: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr(match_index, "EXACT_INDEX_AFTER_CALLS", 0.0)
    target = make_target(emulator, match_index="never")
    emulator.reset_stats()
    for _ in range(3):
        target.lookup([_request("N-1")])
    assert emulator.stats()["by_kind"].get("bulk_create_job", 0) == 0
    assert emulator.stats()["by_kind"]["query"] == 3


_DESCRIPTION = ObjectDescription(
    name="Account",
    fields={
        "Id": FieldDescription(name="Id", type=FieldType.ID),
        "Code__c": FieldDescription(name="Code__c", type=FieldType.STRING),
        "Score__c": FieldDescription(name="Score__c", type=FieldType.DOUBLE),
    },
)
_TEXT = st.sampled_from(["a", "A", "b", "ß", "SS", "ss", "5", "5.0", " a", ""])
_NUMBER = st.one_of(st.integers(-3, 3), st.sampled_from([0.0, -0.0, 2.5, "2.5", "2", "x", "1e0"]))


@given(
    stored=st.lists(st.tuples(_TEXT, _NUMBER), max_size=8),
    asked_text=st.lists(st.one_of(_TEXT, st.integers(0, 6)), max_size=4),
    asked_number=st.lists(_NUMBER, max_size=4),
)
def test_the_copy_answers_as_the_query_would(
    stored: list[tuple[str, Any]], asked_text: list[Any], asked_number: list[Any]
) -> None:
    """Whatever is stored and asked (case variants, numbers as text, 0 and -0), the copy's answer
    is the one the queries' answers are matched to."""
    records = [
        {"Id": f"001{n:015d}", "Code__c": code, "Score__c": score} for n, (code, score) in enumerate(stored)
    ]
    for field, kind, asked in (
        ("Code__c", KeyKind.TEXT, asked_text),
        ("Score__c", KeyKind.NUMBER, asked_number),
    ):
        request = LookupRequest(object="Account", field=field, values=frozenset(asked), fields=frozenset())
        _, groups = build_queries([request], {"Account": _DESCRIPTION})
        key = ("Account", field, ())
        expected = match_records(groups, {key: records})[key]
        file = IndexFile()
        try:
            index = ExactIndex(file, field, kind, frozenset({"Id", field}))
            index.put_all({name: record[name] for name in ("Id", field)} for record in records)
            answered = index.answer(asked)
        finally:
            file.close()
        assert {v: [r["Id"] for r in rs] for v, rs in answered.items()} == {
            v: [r["Id"] for r in rs] for v, rs in expected.items()
        }
