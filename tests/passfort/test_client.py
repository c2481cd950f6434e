"""The httpx client against the emulator over loopback: profiles, 404, keys, retries, errors."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import httpx
import pytest

from fieldline.adapters.passfort.client import PassFortClient, error_codes
from fieldline.adapters.passfort.emulator import SEED_FILE, PassFortEmulator, running_passfort_emulator
from fieldline.adapters.passfort.settings import PassFortSettings
from fieldline.config import Secret
from fieldline.errors import BudgetExhaustedError, ConfigError, FatalAdapterError, TransientAdapterError
from tests.passfort.conftest import API_KEY

COMPANY = "b82b0434-f9e8-11e7-8397-000000000001"


@pytest.fixture(scope="module")
def emulator() -> Iterator[PassFortEmulator]:
    with running_passfort_emulator(SEED_FILE, api_key=API_KEY) as handle:
        yield handle


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def client(
    emulator: PassFortEmulator, settings: PassFortSettings, sleeps: list[float]
) -> Iterator[PassFortClient]:
    emulator.set_faults(reset=True)
    with PassFortClient(replace(settings, base_url=emulator.api_url), sleep=sleeps.append) as passfort:
        yield passfort
    emulator.set_faults(reset=True)


def test_get_profile(client: PassFortClient) -> None:
    profile = client.get_profile(COMPANY)
    assert profile is not None
    assert profile["id"] == COMPANY
    assert profile["role"] == "COMPANY_CUSTOMER"
    assert profile["applications"][0]["product"]["alias"] == "business_current"


def test_unknown_profile_is_none(client: PassFortClient) -> None:
    assert client.get_profile("00000000-0000-0000-0000-000000000000") is None


def test_ids_are_escaped_into_one_path_segment(client: PassFortClient) -> None:
    assert client.get_profile("../4.0/profiles/x?y=1") is None


def test_collected_data_has_an_etag(client: PassFortClient) -> None:
    found = client.get_collected_data(COMPANY)
    assert found is not None
    data, etag = found
    assert data["entity_type"] == "COMPANY"
    assert etag is not None
    assert etag.startswith('W/"')


def test_wrong_api_key_is_fatal_and_never_retried(
    emulator: PassFortEmulator, settings: PassFortSettings, sleeps: list[float]
) -> None:
    wrong = replace(settings, base_url=emulator.api_url, api_key=Secret("not-the-key"))
    with PassFortClient(wrong, sleep=sleeps.append) as passfort, pytest.raises(FatalAdapterError) as caught:
        passfort.get_profile(COMPANY)
    assert caught.value.context["codes"] == [204]
    assert caught.value.context["status"] == 401
    assert "not-the-key" not in str(caught.value)
    assert "FIELDLINE_PASSFORT_API_KEY" in str(caught.value)
    assert sleeps == []


def test_missing_api_key_is_a_config_error(settings: PassFortSettings) -> None:
    with pytest.raises(ConfigError, match="API key"):
        PassFortClient(replace(settings, api_key=None))


def test_503_then_success_is_retried(
    client: PassFortClient, emulator: PassFortEmulator, sleeps: list[float]
) -> None:
    emulator.set_faults(fail_next=2, error_status=503)
    assert client.get_profile(COMPANY) is not None
    assert len(sleeps) == 2
    assert client.requests_sent == 3


def test_429_retry_after_is_honoured(
    client: PassFortClient, emulator: PassFortEmulator, sleeps: list[float]
) -> None:
    emulator.set_faults(fail_next=1, error_status=429, retry_after=2)
    assert client.get_profile(COMPANY) is not None
    assert sleeps == [2.0]  # backoff (ms here) is shorter, so the server's advice wins


def test_retries_run_out_into_a_transient_error(
    client: PassFortClient, emulator: PassFortEmulator, sleeps: list[float]
) -> None:
    emulator.set_faults(fail_next=100, error_status=503, retry_after=1)
    with pytest.raises(TransientAdapterError) as caught:
        client.get_profile(COMPANY)
    assert caught.value.retry_after == 1.0
    assert caught.value.context["status"] == 503
    assert len(sleeps) == client.settings.max_retries
    assert client.requests_sent == client.settings.max_retries + 1


def test_long_retry_after_is_left_to_the_queue(
    client: PassFortClient, emulator: PassFortEmulator, sleeps: list[float]
) -> None:
    emulator.set_faults(fail_next=1, error_status=429, retry_after=3600)
    with pytest.raises(TransientAdapterError) as caught:
        client.get_profile(COMPANY)
    assert caught.value.retry_after == 3600.0
    assert sleeps == []


def test_in_place_waits_add_up_to_at_most_max_retry_wait(
    client: PassFortClient, emulator: PassFortEmulator, sleeps: list[float]
) -> None:
    emulator.set_faults(fail_next=100, error_status=503, retry_after=20)
    with pytest.raises(TransientAdapterError) as caught:
        client.get_profile(COMPANY)
    assert sleeps == [20.0]  # a second 20 s wait would pass the 30 s budget
    assert caught.value.retry_after == 20.0


def test_connection_refused_is_transient(settings: PassFortSettings, sleeps: list[float]) -> None:
    # Port 9 (discard) is closed on loopback: every attempt is refused.
    dead = replace(settings, base_url="http://127.0.0.1:9/4.0", max_retries=2)
    with (
        PassFortClient(dead, sleep=sleeps.append) as passfort,
        pytest.raises(TransientAdapterError) as caught,
    ):
        passfort.get_profile(COMPANY)
    assert isinstance(caught.value.__cause__, httpx.TransportError)
    assert len(sleeps) == 2


def test_timeouts_are_retried_then_transient(
    emulator: PassFortEmulator, settings: PassFortSettings, sleeps: list[float]
) -> None:
    emulator.set_faults(latency_ms=300)
    slow = replace(settings, base_url=emulator.api_url, timeout=0.05, max_retries=1)
    try:
        with (
            PassFortClient(slow, sleep=sleeps.append) as passfort,
            pytest.raises(TransientAdapterError) as caught,
        ):
            passfort.get_profile(COMPANY)
    finally:
        emulator.set_faults(reset=True)
    assert "no answer within" in str(caught.value)
    assert len(sleeps) == 1


def _client_answering(settings: PassFortSettings, status: int, body: object) -> PassFortClient:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["apikey"] == "test-api-key"
        return httpx.Response(status, json=body)

    return PassFortClient(settings, transport=httpx.MockTransport(handler), sleep=lambda _: None)


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        pytest.param(
            402, {"errors": {"code": 104, "message": "limit"}}, BudgetExhaustedError, id="104-single-object"
        ),
        pytest.param(
            400, {"errors": [{"code": 201, "info": "bad"}]}, FatalAdapterError, id="201-invalid-input"
        ),
        pytest.param(403, {"errors": []}, FatalAdapterError, id="403"),
        pytest.param(500, "oops", TransientAdapterError, id="500-not-json"),
        pytest.param(500, {"errors": [{"code": 204}]}, FatalAdapterError, id="204-wins-over-status"),
    ],
)
def test_error_bodies_map_to_errors(
    settings: PassFortSettings, status: int, body: object, expected: type[Exception]
) -> None:
    with _client_answering(settings, status, body) as passfort, pytest.raises(expected) as caught:
        passfort.get_profile("p")
    assert type(caught.value) is expected


def test_success_that_is_not_an_object_is_fatal(settings: PassFortSettings) -> None:
    with (
        _client_answering(settings, 200, [1, 2]) as passfort,
        pytest.raises(FatalAdapterError, match="JSON object"),
    ):
        passfort.get_profile("p")


def test_empty_profile_id_is_refused(client: PassFortClient) -> None:
    with pytest.raises(FatalAdapterError, match="empty"):
        client.get_profile(" ")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param({"errors": [{"code": 204, "message": "Invalid"}]}, [(204, "Invalid")], id="list"),
        pytest.param({"errors": {"code": "104"}}, [(104, "")], id="single-text-code"),
        pytest.param({"errors": [{"code": True}, "x"]}, [(None, "")], id="junk"),
        pytest.param(["errors"], [], id="not-object"),
    ],
)
def test_error_codes(body: object, expected: list[tuple[int | None, str]]) -> None:
    assert error_codes(body) == expected


def test_post_is_not_resent_after_a_500_but_is_after_a_503(settings: PassFortSettings) -> None:
    answers = [500, 503, 200]
    seen: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(answers[len(seen)])
        return httpx.Response(seen[-1], json={"ok": True})

    with PassFortClient(settings, transport=httpx.MockTransport(handler), sleep=lambda _: None) as passfort:
        with pytest.raises(TransientAdapterError):
            passfort.request("POST", "profiles", json={})  # PassFort may have acted: not resent
        assert seen == [500]
        response = passfort.request("POST", "profiles", json={})  # 503: nothing done, resent
        assert response is not None
        assert response.status_code == 200
        assert seen == [500, 503, 200]
