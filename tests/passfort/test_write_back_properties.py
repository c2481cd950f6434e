"""Property: whatever PassFort users do around fieldline's write-backs, on the emulator's store,
the final collected data is the user's last edit plus our customer_ref: nothing lost either way."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from hypothesis import given, strategies as st

from fieldline.adapters.passfort.emulator.handle import SEED_FILE
from fieldline.adapters.passfort.emulator.store import ProfileStore, load_seed
from fieldline.adapters.passfort.write_back import CONFLICT_ATTEMPTS, write_profile
from fieldline.contracts import WriteBack, WriteBackStatus

SEED = load_seed(SEED_FILE)
PROFILE = SEED[0]["id"]
PATH = "collected_data.customer_ref"

EDIT = st.tuples(st.just("edit"), st.text("abcxyz ", min_size=1, max_size=8))
# a write-back, and how many user edits land between its reads and its writes
WRITE_BACK = st.tuples(
    st.just("write_back"), st.sampled_from(["001A", "001B"]), st.integers(0, CONFLICT_ATTEMPTS + 1)
)


class StoreClient:
    """The client's two collected-data calls, on the emulator's store (its If-Match rules);
    ``before_write`` runs just before each write reaches PassFort."""

    def __init__(self, store: ProfileStore, before_write: Callable[[], None]) -> None:
        self.store = store
        self.before_write = before_write

    def get_collected_data(self, profile_id: str) -> tuple[dict[str, Any], str | None] | None:
        return self.store.collected_data(profile_id)

    def replace_collected_data(
        self, profile_id: str, data: dict[str, Any], etag: str | None
    ) -> tuple[bool, dict[str, Any] | None, str | None]:
        self.before_write()
        written, latest, new_etag, _ = self.store.replace_if_match(profile_id, data, etag)
        return written, latest, new_etag


def user_edit(store: ProfileStore, name: str) -> None:
    """A PassFort user renames the company: read, change one field, save without If-Match."""
    found = store.collected_data(PROFILE)
    assert found is not None
    data = found[0]
    data.setdefault("metadata", {})["name"] = name
    store.replace_if_match(PROFILE, data, None)


@given(steps=st.lists(st.one_of(EDIT, WRITE_BACK), max_size=12))
def test_final_data_is_the_users_last_edit_plus_our_customer_ref(steps: list[tuple[Any, ...]]) -> None:
    ticks = iter(range(1_700_000_000, 1_700_100_000))
    store = ProfileStore(copy.deepcopy(SEED), clock=lambda: float(next(ticks)))
    found = store.collected_data(PROFILE)
    assert found is not None
    expected = found[0]
    for step in steps:
        if step[0] == "edit":
            user_edit(store, step[1])
            expected.setdefault("metadata", {})["name"] = step[1]
            continue
        _, value, racing = step
        names = [f"racing {i}" for i in range(racing)]
        queue = list(names)

        def race(queue: list[str] = queue) -> None:
            if queue:
                user_edit(store, queue.pop(0))

        client = StoreClient(store, race)
        [result] = write_profile(client, PROFILE, [WriteBack(PROFILE, PATH, value)])
        for name in queue:  # edits that had no write of ours to race still happen
            user_edit(store, name)
        if names:
            expected.setdefault("metadata", {})["name"] = names[-1]
        if result.status is WriteBackStatus.FAILED:
            assert result.retriable
            assert racing >= CONFLICT_ATTEMPTS
        else:
            expected["customer_ref"] = value
    final = store.collected_data(PROFILE)
    assert final is not None
    assert final[0] == expected
