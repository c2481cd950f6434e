"""Packing subrequests into ``POST /composite`` calls, and reading their answers."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, strategies as st

from fieldline.adapters.salesforce.client import SalesforceRequestError
from fieldline.adapters.salesforce.composite import MAX_HEAVY, MAX_SUBREQUESTS, Subrequest, windows
from fieldline.adapters.salesforce.emulator.server import EmulatorHandle
from fieldline.contracts import LookupRequest, Write, WriteOperation
from fieldline.errors import FatalAdapterError
from tests.apply_results import finished
from tests.salesforce.conftest import Sleeps

APP = "PassFort_Application__c"


@given(st.lists(st.booleans(), max_size=80))
def test_windows_keep_order_and_both_limits_and_are_full(heavy: list[bool]) -> None:
    subrequests = [Subrequest("GET", f"x{i}", heavy=flag) for i, flag in enumerate(heavy)]
    cut = list(windows(subrequests))
    assert [index for window in cut for index in window] == list(range(len(heavy)))
    for number, window in enumerate(cut):
        assert len(window) <= MAX_SUBREQUESTS
        assert sum(heavy[index] for index in window) <= MAX_HEAVY
        if number + 1 < len(cut):  # a window is cut only when the next request would not fit
            following = cut[number + 1][0]
            full = len(window) == MAX_SUBREQUESTS
            assert full or (heavy[following] and sum(heavy[index] for index in window) == MAX_HEAVY)


def _upserts(count: int, **fields: Any) -> list[Write]:
    return [
        Write(
            key=f"app-{i}",
            object=APP,
            operation=WriteOperation.UPSERT,
            fields={"Application_ID__c": f"app-{i}", **fields},
            external_id_field="Application_ID__c",
        )
        for i in range(count)
    ]


def test_lookup_pages_through_every_query_inside_composite_calls(make_target: Any) -> None:
    from fieldline.adapters.salesforce.emulator.server import running_emulator
    from tests.salesforce.conftest import ORG_FILE

    with running_emulator(ORG_FILE, query_page_size=200) as small_pages:
        target = make_target(small_pages, batch_size=200)
        finished(target.apply(_upserts(900, Flag__c="shared")))
        small_pages.reset_stats()
        wanted = frozenset(f"app-{i}" for i in range(0, 900, 2))
        requests = [
            LookupRequest(object=APP, field="Flag__c", values=frozenset({"SHARED"}), fields=frozenset()),
            LookupRequest(object="Account", field="Name", values=frozenset({"Nobody"}), fields=frozenset()),
            LookupRequest(object=APP, field="Application_ID__c", values=wanted, fields=frozenset()),
        ]
        found = target.lookup(requests)
        assert len(found[(APP, "Flag__c", ())]["SHARED"]) == 900
        assert set(found[(APP, "Application_ID__c", ())]) == wanted
        assert found[("Account", "Name", ())] == {}
        by_kind = small_pages.stats()["by_kind"]
        # two queries (the application's match fields share one, OR-ed) in one call, then the
        # application query's next pages (900 records, 200 a page), one a call: each needs the last
        assert by_kind["composite:query"] == 2
        assert by_kind["composite:query_more"] == 4
        assert by_kind["composite"] == 1 + 4
        assert (
            small_pages.stats()["api_usage"] == 5 + 1
        )  # and describing Account (the writes described the other)


def test_a_refused_query_inside_a_composite_call_is_a_located_fatal_error(
    emulator: EmulatorHandle, make_target: Any
) -> None:
    target = make_target(emulator)
    texts = ["SELECT Id FROM Account", "SELECT Id, Nope__c FROM Account"]
    with pytest.raises(SalesforceRequestError, match="INVALID_FIELD") as raised:
        target._composite.query_all(texts, what="lookup Account")
    assert isinstance(raised.value, FatalAdapterError)
    assert "lookup Account (query 2 of 2)" in raised.value.message


def test_lock_refusals_inside_a_composite_call_are_sent_again(
    emulator: EmulatorHandle, make_target: Any, sleeps: Sleeps
) -> None:
    target = make_target(emulator, batch_size=20, max_retries=12)
    target.describe(APP)
    emulator.set_faults(lock_error_rate=0.4, seed=3)
    results = finished(target.apply(_upserts(100, Status__c="Applied")))
    assert all(result.ok for result in results), [r.error for r in results if not r.ok]
    assert len(emulator.records(APP)) == 100
    by_kind = emulator.stats()["by_kind"]
    assert by_kind["composite:collections_upsert"] == 5  # the first try of every collection
    assert by_kind["collections_upsert"] == len(sleeps.delays)  # each resend after a backoff
