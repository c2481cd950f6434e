"""An error body is never taken for data: whatever the HTTP status, ``errors`` means an error.

GoCardless's PassFort client reads error codes from answers with status 200/201 and an
``errors`` body; which status PassFort really uses is unconfirmed, so the client is tested
against both, and so is the emulator (``error_style``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from fieldline.adapters.passfort.client import PassFortClient, has_errors
from fieldline.adapters.passfort.emulator import SEED_FILE, PassFortEmulator, running_passfort_emulator
from fieldline.adapters.passfort.emulator.app import ErrorStyle
from fieldline.adapters.passfort.settings import PassFortSettings
from fieldline.adapters.passfort.source import PassFortSource
from fieldline.config import Secret
from fieldline.contracts import StopReason
from fieldline.errors import AdapterError, BudgetExhaustedError, FatalAdapterError
from fieldline.queue import JobState
from fieldline.queue.sqlite_run_store import SQLiteRunStore
from fieldline.service.worker import Worker, WorkerSettings
from fieldline.testing.queue_suite import FakeClock
from tests.passfort.conftest import API_KEY
from tests.service.fakes import FakeRunner, event, make_queue

COMPANY = "b82b0434-f9e8-11e7-8397-000000000001"
STYLES = [pytest.param(style, id=f"errors-as-{style.value}") for style in ErrorStyle]


def _answering(
    settings: PassFortSettings, status: int, body: object, headers: dict[str, str] | None = None
) -> PassFortClient:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json=body, headers=headers)

    return PassFortClient(settings, transport=httpx.MockTransport(handler), sleep=lambda _: None)


# --- the client, on answers it cannot tell from success by status ---------------------------


@pytest.mark.parametrize("status", [200, 201])
@pytest.mark.parametrize(
    ("body", "expected", "says"),
    [
        pytest.param({"errors": [{"code": 204}]}, FatalAdapterError, "FIELDLINE_PASSFORT_API_KEY", id="204"),
        pytest.param({"errors": {"code": 201, "message": "bad"}}, FatalAdapterError, "invalid", id="201"),
        pytest.param({"errors": {"code": 104}}, BudgetExhaustedError, "chargeable limit", id="104"),
        pytest.param(
            {"errors": [{"code": 999}]}, FatalAdapterError, "unknown PassFort error code (999)", id="999"
        ),
        pytest.param({"errors": [{"message": "x"}]}, FatalAdapterError, "(none given)", id="no-code"),
        pytest.param({"errors": ["junk"]}, FatalAdapterError, "unknown PassFort error code", id="junk-item"),
    ],
)
def test_a_success_status_with_errors_is_an_error_not_a_profile(
    settings: PassFortSettings, status: int, body: object, expected: type[AdapterError], says: str
) -> None:
    with _answering(settings, status, body) as passfort, pytest.raises(expected) as caught:
        passfort.get_profile("p")
    assert type(caught.value) is expected
    assert says in str(caught.value)
    assert caught.value.context["status"] == status
    assert passfort.requests_sent == 1, "an error no retry fixes is not retried"


def test_the_chargeable_limit_stops_like_a_daily_limit(settings: PassFortSettings) -> None:
    body = {"errors": [{"code": 104, "message": "Chargeable limit reached"}]}
    with (
        _answering(settings, 200, body, {"retry-after": "600"}) as passfort,
        pytest.raises(BudgetExhaustedError) as caught,
    ):
        passfort.get_profile("p")
    stop = caught.value.as_stop()
    assert stop.reason is StopReason.DAILY_LIMIT
    assert stop.retry_after == 600.0
    assert "Chargeable limit reached" in stop.message


def test_collected_data_with_errors_is_an_error(settings: PassFortSettings) -> None:
    with (
        _answering(settings, 200, {"errors": [{"code": 201}]}) as passfort,
        pytest.raises(FatalAdapterError, match="error 201"),
    ):
        passfort.get_collected_data("p")


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"id": "p", "errors": []}, id="empty-list"),
        pytest.param({"id": "p", "errors": None}, id="null"),
        pytest.param({"id": "p"}, id="absent"),
    ],
)
def test_an_empty_errors_is_data(settings: PassFortSettings, body: dict[str, Any]) -> None:
    with _answering(settings, 200, body) as passfort:
        assert passfort.get_profile("p") == body


def test_a_known_code_wins_over_404(settings: PassFortSettings) -> None:
    with (
        _answering(settings, 404, {"errors": [{"code": 204}]}) as passfort,
        pytest.raises(FatalAdapterError, match="error 204"),
    ):
        passfort.get_profile("p")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param({"errors": [{"code": 1}]}, True, id="list"),
        pytest.param({"errors": {"code": 1}}, True, id="object"),
        pytest.param({"errors": []}, False, id="empty"),
        pytest.param({"errors": {}}, False, id="empty-object"),
        pytest.param({"errors": "no"}, False, id="text"),
        pytest.param([{"errors": [1]}], False, id="not-an-object"),
    ],
)
def test_has_errors(body: object, expected: bool) -> None:
    assert has_errors(body) is expected


# --- against the emulator, in both styles ---------------------------------------------------


@pytest.fixture(scope="module", params=STYLES)
def style(request: pytest.FixtureRequest) -> ErrorStyle:
    chosen: ErrorStyle = request.param
    return chosen


@pytest.fixture(scope="module")
def emulator(style: ErrorStyle) -> Iterator[PassFortEmulator]:
    with running_passfort_emulator(SEED_FILE, api_key=API_KEY, error_style=style) as handle:
        yield handle


@pytest.fixture
def client(emulator: PassFortEmulator, settings: PassFortSettings) -> Iterator[PassFortClient]:
    emulator.set_faults(reset=True)
    with PassFortClient(replace(settings, base_url=emulator.api_url), sleep=lambda _: None) as passfort:
        yield passfort
    emulator.set_faults(reset=True)


def _expected_status(style: ErrorStyle, http_status: int) -> int:
    return 200 if style is ErrorStyle.OK else http_status


def test_a_wrong_key_is_fatal_in_either_style(
    emulator: PassFortEmulator, settings: PassFortSettings, style: ErrorStyle
) -> None:
    wrong = replace(settings, base_url=emulator.api_url, api_key=Secret("not-the-key"))
    with PassFortClient(wrong, sleep=lambda _: None) as passfort, pytest.raises(FatalAdapterError) as caught:
        passfort.get_profile(COMPANY)
    assert caught.value.context["codes"] == [204]
    assert caught.value.context["status"] == _expected_status(style, 401)


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        pytest.param(104, BudgetExhaustedError, id="104-chargeable-limit"),
        pytest.param(201, FatalAdapterError, id="201-invalid-input"),
    ],
)
def test_injected_coded_errors_are_classified_in_either_style(
    client: PassFortClient,
    emulator: PassFortEmulator,
    style: ErrorStyle,
    code: int,
    expected: type[AdapterError],
) -> None:
    emulator.set_faults(fail_next=1, error_code=code, error_status=429)
    with pytest.raises(expected) as caught:
        client.get_profile(COMPANY)
    assert type(caught.value) is expected
    assert caught.value.context["codes"] == [code]
    assert caught.value.context["status"] == _expected_status(style, 429)
    assert client.requests_sent == 1


def test_unknown_profiles_are_still_404_in_either_style(client: PassFortClient) -> None:
    assert client.get_profile("00000000-0000-0000-0000-000000000000") is None


@pytest.mark.parametrize(
    "profile",
    [
        pytest.param({"role": "PIRATE", "collected_data": {"entity_type": "INDIVIDUAL"}}, id="unknown-role"),
        pytest.param({"collected_data": {"entity_type": "INDIVIDUAL"}}, id="no-role"),
        pytest.param({"role": ["INDIVIDUAL_CUSTOMER"], "collected_data": {}}, id="role-not-text"),
        pytest.param({"role": "INDIVIDUAL_CUSTOMER", "collected_data": {}}, id="no-entity-type"),
        pytest.param(
            {"role": "INDIVIDUAL_CUSTOMER", "collected_data": {"entity_type": "CAT"}}, id="bad-entity"
        ),
        pytest.param({"role": "INDIVIDUAL_CUSTOMER"}, id="no-collected-data"),
    ],
)
def test_invalid_profiles_are_refused_with_201(
    client: PassFortClient, emulator: PassFortEmulator, style: ErrorStyle, profile: dict[str, Any]
) -> None:
    before = len(emulator.profile_ids())
    with pytest.raises(FatalAdapterError) as caught:
        client.request("POST", "profiles", json=profile)
    assert caught.value.context["codes"] == [201]
    assert caught.value.context["status"] == _expected_status(style, 400)
    assert len(emulator.profile_ids()) == before


def test_collected_data_without_entity_type_is_refused_with_201(
    client: PassFortClient, emulator: PassFortEmulator
) -> None:
    found = client.get_collected_data(COMPANY)
    assert found is not None
    data, etag = found
    without = {key: value for key, value in data.items() if key != "entity_type"}
    with pytest.raises(FatalAdapterError) as caught:
        client.request(
            "POST", f"profiles/{COMPANY}/collected_data", json=without, headers={"if-match": etag or ""}
        )
    assert caught.value.context["codes"] == [201]
    assert client.get_collected_data(COMPANY) == (data, etag), "nothing was replaced"


def test_a_valid_profile_is_still_created(client: PassFortClient) -> None:
    profile = {"role": "COMPANY_CUSTOMER", "collected_data": {"entity_type": "COMPANY"}}
    response = client.request("POST", "profiles", json=profile)
    assert response is not None
    assert response.status_code == 201
    assert response.json()["role"] == "COMPANY_CUSTOMER"


# --- the worker path: a fetch answering an error body ends as the right job state ----------


class WorkerRig:
    def __init__(self, directory: Path, source: PassFortSource) -> None:
        self.clock = FakeClock()
        self.queue = make_queue(directory, self.clock)
        self.store = SQLiteRunStore(directory / "q.db", clock=self.clock)
        self.runner = FakeRunner()
        self.worker = Worker(
            self.queue,
            self.store,
            source,
            self.runner,
            worker_id="w1",
            source_name="passfort",
            settings=WorkerSettings(budget_pause=120, fetch_concurrency=1),
            resources=(source,),
        )

    def run_one_event(self) -> tuple[JobState | None, bool]:
        [job_id] = self.queue.enqueue([event("e1", COMPANY)], source="passfort").job_ids
        batch = self.worker.run_once()
        return self.queue.state_of(job_id), batch.paused

    def close(self) -> None:
        self.worker.close()
        self.queue.close()
        self.store.close()


@pytest.fixture
def worker_rig(tmp_path: Path, emulator: PassFortEmulator, settings: PassFortSettings) -> Iterator[WorkerRig]:
    emulator.set_faults(reset=True)
    source = PassFortSource(replace(settings, base_url=emulator.api_url), sleep=lambda _: None)
    rig = WorkerRig(tmp_path, source)
    yield rig
    rig.close()
    emulator.set_faults(reset=True)


@pytest.mark.parametrize(
    ("code", "outcome"),
    [
        pytest.param(201, (JobState.DEAD, False), id="201-dead-letter"),
        pytest.param(104, (JobState.TODO, True), id="104-pause"),
    ],
)
def test_a_fetch_answering_an_error_ends_as_the_right_job_state(
    worker_rig: WorkerRig,
    emulator: PassFortEmulator,
    caplog: pytest.LogCaptureFixture,
    code: int,
    outcome: tuple[JobState, bool],
) -> None:
    emulator.set_faults(fail_next=1, error_code=code, error_status=400 if code == 201 else 429)
    with caplog.at_level("WARNING", logger="fieldline.worker"):
        assert worker_rig.run_one_event() == outcome
    assert worker_rig.runner.calls == [], "the error body never reached the mapping"
    assert any(f"error {code}" in record.getMessage() for record in caplog.records)
    assert all(record.exc_info is None for record in caplog.records), "one line, no traceback"


def test_a_wrong_key_dead_letters_the_job(
    tmp_path: Path, emulator: PassFortEmulator, settings: PassFortSettings
) -> None:
    wrong = replace(settings, base_url=emulator.api_url, api_key=Secret("not-the-key"))
    rig = WorkerRig(tmp_path, PassFortSource(wrong, sleep=lambda _: None))
    try:
        assert rig.run_one_event() == (JobState.DEAD, False)
        assert rig.runner.calls == []
        [dead] = rig.queue.dead_letters()
        assert "error 204" in dead.error
    finally:
        rig.close()
