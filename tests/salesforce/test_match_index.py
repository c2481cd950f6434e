"""The match index: normalized keys answered from one read of the object, kept current by the
run's own writes, in O(1) calls per run instead of a LIKE scan per batch."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, strategies as st

from fieldline.adapters.salesforce import match_index
from fieldline.adapters.salesforce.emulator.server import EmulatorHandle
from fieldline.adapters.salesforce.match_index import _Index
from fieldline.contracts import LookupRequest, Write, WriteOperation
from fieldline.expressions.normalizers import root_domain
from tests.apply_results import finished

KEY = ("Account", "Website", ("root_domain",))


def _request(*domains: str) -> LookupRequest:
    return LookupRequest(
        object="Account",
        field="Website",
        values=frozenset(domains),
        fields=frozenset({"Name", "Website"}),
        normalize=("root_domain",),
        normalizer=root_domain,
    )


def _create(target: Any, *accounts: tuple[str, str]) -> list[str]:
    writes = [
        Write(
            key=name,
            object="Account",
            operation=WriteOperation.CREATE,
            fields={"Name": name, "Website": site},
        )
        for name, site in accounts
    ]
    return [str(result.target_id) for result in finished(target.apply(writes))]


def _queries(emulator: EmulatorHandle) -> int:
    return int(emulator.stats()["by_kind"].get("query", 0))


@pytest.mark.parametrize("bulk_threshold", [pytest.param(2000, id="rest"), pytest.param(1, id="bulk")])
def test_the_index_is_read_once_and_answers_every_later_batch(
    emulator: EmulatorHandle, make_target: Any, bulk_threshold: int
) -> None:
    seed = make_target(emulator)
    ids = _create(
        seed, ("a", "https://www.Test.com/app"), ("b", "test.com"), ("c", "https://test.com.example.org")
    )
    target = make_target(emulator, bulk_threshold=bulk_threshold)
    emulator.reset_stats()
    found = target.lookup([_request("test.com", "absent.net")])[KEY]
    assert [record["Id"] for record in found["test.com"]] == sorted(ids[:2])
    assert "absent.net" not in found
    calls = int(emulator.stats()["api_usage"])
    # the emulator runs a Bulk job as a background task: a poll may find it still InProgress
    polls = int(emulator.stats()["by_kind"].get("bulk_poll", 0))
    assert calls - max(0, polls - 1) == (
        3 if bulk_threshold == 2000 else 5
    )  # describe, count, one page or a Bulk job
    again = target.lookup([_request("test.com", "example.org")])[KEY]
    assert int(emulator.stats()["api_usage"]) == calls  # answered from memory
    assert [record["Id"] for record in again["example.org"]] == [ids[2]]


def test_the_runs_own_creates_and_updates_keep_it_current(emulator: EmulatorHandle, make_target: Any) -> None:
    target = make_target(emulator)
    (old_id,) = _create(target, ("old", "http://old.io"))
    assert [record["Id"] for record in target.lookup([_request("old.io")])[KEY]["old.io"]] == [old_id]
    (new_id,) = _create(target, ("new", "https://www.new.io/about"))
    assert new_id.startswith("001")
    moved = Write(
        key="move",
        object="Account",
        operation=WriteOperation.UPDATE,
        fields={"Website": "moved.io"},
        target_id=old_id,
    )
    finished(target.apply([moved]))
    before = _queries(emulator)
    found = target.lookup([_request("old.io", "new.io", "moved.io")])[KEY]
    assert _queries(emulator) == before
    assert "old.io" not in found  # re-filed under its new website
    assert [record["Id"] for record in found["moved.io"]] == [old_id]
    assert found["moved.io"][0]["Name"] == "old"  # the fields read first are kept
    assert [record["Id"] for record in found["new.io"]] == [new_id]


def test_a_new_run_reads_the_index_again_and_sees_others_writes(
    emulator: EmulatorHandle, make_target: Any
) -> None:
    target = make_target(emulator)  # a long-lived service worker's target
    assert "late.io" not in target.lookup([_request("late.io")])[KEY]
    (late_id,) = _create(make_target(emulator), ("late", "https://late.io"))  # someone else's write
    assert "late.io" not in target.lookup([_request("late.io")])[KEY], "within a run: the index read"
    target.begin_run()
    assert [record["Id"] for record in target.lookup([_request("late.io")])[KEY]["late.io"]] == [late_id]


def test_auto_keeps_like_queries_for_a_few_keys_against_a_large_object(
    emulator: EmulatorHandle, make_target: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(match_index, "AUTO_ALWAYS_UP_TO", 1)
    monkeypatch.setattr(match_index, "AUTO_RECORDS_PER_KEY", 1)
    target = make_target(emulator)
    _create(target, ("a", "a.com"), ("b", "b.com"), ("c", "c.com"))
    found = target.lookup([_request("a.com")])[KEY]
    assert [record["Name"] for record in found["a.com"]] == ["a"]
    before = _queries(emulator)
    target.lookup([_request("b.com")])
    assert _queries(emulator) == before + 1  # a LIKE query, not the index (declined once: no count)


def test_never_uses_like_queries(emulator: EmulatorHandle, make_target: Any) -> None:
    target = make_target(emulator, match_index="never")
    _create(target, ("a", "a.com"))
    before = _queries(emulator)
    target.lookup([_request("a.com")])
    target.lookup([_request("a.com")])
    assert _queries(emulator) == before + 2


_SITES = st.sampled_from(["a.com", "https://www.a.com/x", "b.org", "http://B.org", "", "c.net", "sub.c.net"])


@given(st.lists(st.tuples(st.integers(0, 5), _SITES), max_size=30))
def test_index_answers_as_a_scan_would(puts: list[tuple[int, str]]) -> None:
    index = _Index("Website", frozenset({"Id", "Website"}), root_domain)
    latest: dict[str, str] = {}
    for number, site in puts:
        index.put({"Id": f"001{number:015d}", "Website": site})
        latest[f"001{number:015d}"] = site
    for wanted in ("a.com", "b.org", "c.net"):
        scanned = sorted(
            record_id for record_id, site in latest.items() if site and root_domain(site) == wanted
        )
        assert [record["Id"] for record in index.answer([wanted]).get(wanted, [])] == scanned


def test_an_unknown_object_suggests_the_closest_one(emulator: EmulatorHandle, make_target: Any) -> None:
    from fieldline.errors import FatalAdapterError

    target = make_target(emulator)
    with pytest.raises(FatalAdapterError, match="no object 'Acount'") as raised:
        target.describe("Acount")
    assert raised.value.hint == "did you mean 'Account'?"
    with pytest.raises(FatalAdapterError) as far:
        target.describe("Zebra__c")
    assert far.value.hint is not None
    assert "did you mean" not in far.value.hint
