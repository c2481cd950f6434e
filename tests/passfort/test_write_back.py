"""Writing customer_ref back into PassFort collected data, over HTTP against the emulator:
If-Match, 412 with a concurrent edit kept, retries on 5xx/429, a 412 storm, nothing sent when
the value is already there, and recognizing the webhook our own write causes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import httpx
import pytest

from fieldline.adapters.passfort.client import PassFortClient
from fieldline.adapters.passfort.emulator import SEED_FILE, PassFortEmulator, running_passfort_emulator
from fieldline.adapters.passfort.settings import PassFortSettings
from fieldline.adapters.passfort.source import PassFortSource
from fieldline.adapters.passfort.write_back import CONFLICT_ATTEMPTS, write_profile
from fieldline.config import Secret
from fieldline.contracts import SourceEvent, WriteBack, WriteBackStatus
from tests.passfort.conftest import API_KEY

ACCOUNT_ID = "001000000000777AAA"
PATH = "collected_data.customer_ref"
PATHS = frozenset({PATH})


@pytest.fixture
def emulator() -> Iterator[PassFortEmulator]:
    with running_passfort_emulator(SEED_FILE, api_key=API_KEY) as handle:
        yield handle


@pytest.fixture
def passfort(emulator: PassFortEmulator, settings: PassFortSettings) -> PassFortSettings:
    return replace(settings, base_url=emulator.api_url)


@pytest.fixture
def source(passfort: PassFortSettings) -> Iterator[PassFortSource]:
    adapter = PassFortSource(passfort)
    yield adapter
    adapter.close()


def collected(emulator: PassFortEmulator, profile_id: str) -> dict[str, Any]:
    profile = emulator.profile(profile_id)
    assert profile is not None
    data: dict[str, Any] = profile["collected_data"]
    return data


def user_edit(emulator: PassFortEmulator, profile_id: str, name: str) -> None:
    """What a PassFort user does: read the collected data, change one field, save (no If-Match)."""
    data = collected(emulator, profile_id)
    data.setdefault("metadata", {})["name"] = name
    response = httpx.post(
        f"{emulator.api_url}/profiles/{profile_id}/collected_data", json=data, headers={"apikey": API_KEY}
    )
    assert response.status_code == 200


class EditedBeforeEachWrite(PassFortClient):
    """A client whose every write races a user edit made just after its read (so: a 412)."""

    def __init__(self, settings: PassFortSettings, emulator: PassFortEmulator, edits: int) -> None:
        super().__init__(settings, sleep=lambda _: None)
        self.emulator = emulator
        self.edits = edits
        self.posts = 0

    def replace_collected_data(
        self, profile_id: str, data: dict[str, Any], etag: str | None
    ) -> tuple[bool, dict[str, Any] | None, str | None]:
        self.posts += 1
        if self.edits:
            self.edits -= 1
            user_edit(self.emulator, profile_id, f"Edited {self.posts}")
        return super().replace_collected_data(profile_id, data, etag)


def test_writes_the_value_once_keeping_the_rest(emulator: PassFortEmulator, source: PassFortSource) -> None:
    profile_id = emulator.profile_ids()[0]
    before = collected(emulator, profile_id)
    [result] = source.write_back([WriteBack(profile_id, PATH, ACCOUNT_ID)])
    assert result.status is WriteBackStatus.WRITTEN
    assert collected(emulator, profile_id) == {**before, "customer_ref": ACCOUNT_ID}
    assert (emulator.profile(profile_id) or {})["customer_ref"] == ACCOUNT_ID
    requests = source.client.requests_sent
    [again] = source.write_back([WriteBack(profile_id, PATH, ACCOUNT_ID)])
    assert again.status is WriteBackStatus.UNCHANGED
    assert source.client.requests_sent == requests + 1, "only the read: the value was already there"


def test_a_concurrent_edit_between_read_and_write_is_kept(
    emulator: PassFortEmulator, passfort: PassFortSettings
) -> None:
    profile_id = emulator.profile_ids()[0]
    client = EditedBeforeEachWrite(passfort, emulator, edits=1)
    with client:
        [result] = write_profile(client, profile_id, [WriteBack(profile_id, PATH, ACCOUNT_ID)])
    assert result.status is WriteBackStatus.WRITTEN
    assert client.posts == 2, "the first write met a 412 and was made again on the latest data"
    data = collected(emulator, profile_id)
    assert data["metadata"]["name"] == "Edited 1"
    assert data["customer_ref"] == ACCOUNT_ID


def test_a_412_storm_is_a_retriable_failure_that_overwrites_nothing(
    emulator: PassFortEmulator, passfort: PassFortSettings
) -> None:
    profile_id = emulator.profile_ids()[0]
    with EditedBeforeEachWrite(passfort, emulator, edits=CONFLICT_ATTEMPTS) as client:
        [result] = write_profile(client, profile_id, [WriteBack(profile_id, PATH, ACCOUNT_ID)])
    assert result.status is WriteBackStatus.FAILED
    assert result.retriable
    assert "412" in (result.error or "")
    data = collected(emulator, profile_id)
    assert data["metadata"]["name"] == f"Edited {CONFLICT_ATTEMPTS}", "the user's last edit stands"
    assert "customer_ref" not in data


@pytest.mark.parametrize("status", [pytest.param(503, id="5xx"), pytest.param(429, id="429")])
def test_busy_passfort_is_retried(emulator: PassFortEmulator, source: PassFortSource, status: int) -> None:
    profile_id = emulator.profile_ids()[0]
    emulator.set_faults(fail_next=2, error_status=status, retry_after=0)
    [result] = source.write_back([WriteBack(profile_id, PATH, ACCOUNT_ID)])
    assert result.status is WriteBackStatus.WRITTEN
    assert collected(emulator, profile_id)["customer_ref"] == ACCOUNT_ID


def test_passfort_down_is_a_retriable_failure(emulator: PassFortEmulator, source: PassFortSource) -> None:
    profile_id = emulator.profile_ids()[0]
    emulator.set_faults(fail_next=1000, error_status=503, retry_after=0)
    [result] = source.write_back([WriteBack(profile_id, PATH, ACCOUNT_ID)])
    assert (result.status, result.retriable) == (WriteBackStatus.FAILED, True)
    assert "503" in (result.error or "")


def test_a_revoked_key_is_a_failure_not_worth_retrying(
    emulator: PassFortEmulator, passfort: PassFortSettings
) -> None:
    profile_id = emulator.profile_ids()[0]
    adapter = PassFortSource(replace(passfort, api_key=Secret("revoked")))
    try:
        [result] = adapter.write_back([WriteBack(profile_id, PATH, ACCOUNT_ID)])
    finally:
        adapter.close()
    assert (result.status, result.retriable) == (WriteBackStatus.FAILED, False)
    assert "FIELDLINE_PASSFORT_API_KEY" in (result.error or "")


@pytest.mark.parametrize(
    ("path", "accepted"),
    [
        pytest.param("collected_data.customer_ref", True, id="collected-data"),
        pytest.param("collected_data.metadata.crm_id", True, id="nested"),
        pytest.param("customer_ref", False, id="top-level"),
        pytest.param("collected_data.entity_type", False, id="entity-type"),
        pytest.param("applications", False, id="not-collected-data"),
    ],
)
def test_which_paths_take_a_write_back(source: PassFortSource, path: str, accepted: bool) -> None:
    assert (source.write_back_problem(path) is None) is accepted


def test_the_webhook_of_our_own_write_is_recognized(
    emulator: PassFortEmulator, source: PassFortSource
) -> None:
    profile_id = emulator.profile_ids()[0]
    old = collected(emulator, profile_id)
    ours = {**old, "customer_ref": ACCOUNT_ID}
    echo = event({"old_data": old, "new_data": ours})
    assert source.is_write_back_echo(echo, PATHS)
    theirs = {**ours, "metadata": {"name": "Renamed"}}
    assert not source.is_write_back_echo(event({"old_data": old, "new_data": theirs}), PATHS)
    assert not source.is_write_back_echo(event({"old_data": old, "new_data": old}), PATHS)
    assert not source.is_write_back_echo(event({}), PATHS), "without the data: not known to be ours"
    status = replace(echo, type="PRODUCT_STATUS_CHANGED")
    assert not source.is_write_back_echo(status, PATHS)


def event(data: dict[str, Any]) -> SourceEvent:
    return SourceEvent(id="e1", type="COLLECTED_DATA_CHANGED", entity_key="p", occurred_at=1.0, payload=data)
