"""Properties of the emulator store: every real change emits exactly one event, in order."""

from __future__ import annotations

from typing import Any

from hypothesis import given, strategies as st

from fieldline.adapters.passfort.emulator.handle import SEED_FILE
from fieldline.adapters.passfort.emulator.store import ProfileStore, load_seed

SEED = load_seed(SEED_FILE)
APPLICATIONS = [application["id"] for profile in SEED for application in profile["applications"]]
STATUSES = ["APPLIED", "IN_REVIEW", "APPROVED", "REJECTED", "CANCELLED"]
FLAGS = [None, "AUTOMATING", "MANUAL_REVIEW", "AWAITING_DOCUMENTS"]

CHANGE = st.tuples(
    st.sampled_from(APPLICATIONS),
    st.none() | st.sampled_from(STATUSES),
    st.booleans(),
    st.sampled_from(FLAGS),
)


@given(changes=st.lists(CHANGE, max_size=30))
def test_changes_emit_one_event_each_and_history_follows(
    changes: list[tuple[str, str | None, bool, str | None]],
) -> None:
    ticks = iter(range(1_700_000_000, 1_700_100_000))
    store = ProfileStore(SEED, clock=lambda: float(next(ticks)))
    start = applications_of(store)
    expected_events: list[tuple[str, str]] = []
    current = {app: (start[app]["status"], start[app]["flag"]) for app in APPLICATIONS}
    emitted: list[dict[str, Any]] = []
    for application, status, set_flag, flag in changes:
        old_status, old_flag = current[application]
        _, envelopes = store.update_application(application, status=status, flag=flag, set_flag=set_flag)
        emitted += envelopes
        if status is not None and status != old_status:
            expected_events.append(("PRODUCT_STATUS_CHANGED", application))
            old_status = status
        if set_flag and flag != old_flag:
            expected_events.append(("PRODUCT_BADGE_CHANGED", application))
            old_flag = flag
        current[application] = (old_status, old_flag)
    assert [(item["event"], item["data"]["application_id"]) for item in emitted] == expected_events
    assert len({item["id"] for item in emitted}) == len(emitted)
    timestamps = [item["timestamp"] for item in emitted]
    assert timestamps == sorted(timestamps)
    finals = applications_of(store)
    for application in APPLICATIONS:
        final = finals[application]
        assert (final["status"], final["flag"]) == current[application]
        status_events = sum(1 for event, app in expected_events if app == application and "STATUS" in event)
        assert len(final["history"]) == len(start[application]["history"]) + status_events
        assert final["history"][-1]["status"] == final["status"]


def applications_of(store: ProfileStore) -> dict[str, dict[str, Any]]:
    """Every application in the store, by id."""
    found: dict[str, dict[str, Any]] = {}
    for profile_id in store.profile_ids():
        profile = store.profile(profile_id) or {}
        for application in profile["applications"]:
            found[application["id"]] = application
    return found
