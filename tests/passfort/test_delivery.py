"""Emulator webhook delivery: in order, retried until exactly 200, head-of-line blocking, batches."""

from __future__ import annotations

import json

import pytest

from fieldline.adapters.passfort.emulator import SEED_FILE, running_passfort_emulator
from fieldline.adapters.passfort.settings import PassFortSettings
from fieldline.adapters.passfort.source import PassFortSource
from tests.passfort.conftest import SECRET, Receiver
from tests.waiting import PATIENCE, wait_until

APPS = [f"a1b2c3d4-0000-4000-8000-{number:012d}" for number in range(1, 15)]


def test_single_deliveries_arrive_in_emission_order_with_both_secrets(receiver: Receiver) -> None:
    with running_passfort_emulator(SEED_FILE, deliver_to=receiver.url, secret=SECRET) as emulator:
        emitted = []
        for application in APPS:
            emitted += emulator.set_status(application, "TEST_STATUS")  # no seed app has it
            emitted += emulator.set_flag(application, "DONE")
        status = emulator.wait_delivered(timeout=PATIENCE)
    assert [item.body["id"] for item in receiver.requests] == [item["id"] for item in emitted]
    assert status["delivered"] == len(emitted) == 2 * len(APPS)
    assert status["last_delivered_id"] == emitted[-1]["id"]
    first = receiver.requests[0]
    assert first.headers["authorization"] == f"Bearer {SECRET}"
    assert first.body["secret"] == SECRET


def test_status_change_webhook_has_the_documented_shape(receiver: Receiver) -> None:
    with running_passfort_emulator(SEED_FILE, deliver_to=receiver.url, secret=SECRET) as emulator:
        emulator.set_status(APPS[1], "CANCELLED")
        emulator.wait_delivered()
    (body,) = receiver.accepted()
    assert set(body) == {"id", "event", "secret", "timestamp", "data"}
    assert body["event"] == "PRODUCT_STATUS_CHANGED"
    assert isinstance(body["timestamp"], int)
    data = body["data"]
    assert set(data) == {
        "apikey",
        "application_id",
        "customer_ref",
        "new_status",
        "product",
        "profile_id",
        "user",
    }
    assert data["new_status"] == "CANCELLED"
    assert data["user"] is None
    assert data["customer_ref"] == "001000000000001AAA"
    assert set(data["product"]) >= {"alias", "id", "name"}


def test_retried_until_exactly_200(receiver: Receiver) -> None:
    receiver.fail_next(500, 503, 201, 204)  # 2xx other than 200 is a failure too
    with running_passfort_emulator(SEED_FILE, deliver_to=receiver.url, secret=SECRET) as emulator:
        (event,) = emulator.set_status(APPS[0], "APPROVED")
        status = emulator.wait_delivered(timeout=PATIENCE)
    assert [item.status for item in receiver.requests] == [500, 503, 201, 204, 200]
    assert {item.body["id"] for item in receiver.requests} == {event["id"]}
    assert status["failed_requests"] == 4
    assert status["requests"] == 5
    assert status["last_error"] == "HTTP 204"
    assert status["consecutive_failures"] == 0


def test_failing_head_blocks_everything_behind_it(receiver: Receiver) -> None:
    receiver.fail_next(503, 503, 503)
    with running_passfort_emulator(SEED_FILE, deliver_to=receiver.url, secret=SECRET) as emulator:
        emitted = [*emulator.set_status(APPS[0], "APPROVED"), *emulator.set_status(APPS[1], "REJECTED")]
        emitted += emulator.set_status(APPS[2], "CANCELLED")
        emulator.wait_delivered(timeout=PATIENCE)
    ids = [item.body["id"] for item in receiver.requests]
    head, second, third = (item["id"] for item in emitted)
    assert ids == [head, head, head, head, second, third]


def test_wait_delivered_times_out_while_the_receiver_fails(receiver: Receiver) -> None:
    receiver.fail_next(*[500] * 1000)
    with running_passfort_emulator(SEED_FILE, deliver_to=receiver.url, secret=SECRET) as emulator:
        emulator.set_status(APPS[0], "APPROVED")
        wait_until(lambda: emulator.deliveries()["consecutive_failures"] >= 2, what="two failed attempts")
        with pytest.raises(TimeoutError, match="HTTP 500"):
            emulator.wait_delivered(timeout=0)
        status = emulator.deliveries()
    assert status["pending"] == 1
    assert status["delivered"] == 0


def test_unreachable_receiver_is_retried_then_reconfigured(receiver: Receiver) -> None:
    with running_passfort_emulator(
        SEED_FILE, deliver_to="http://127.0.0.1:9/hook", secret=SECRET
    ) as emulator:
        emulator.set_status(APPS[0], "APPROVED")
        wait_until(lambda: emulator.deliveries()["last_error"], what="a failed attempt")
        with pytest.raises(TimeoutError):
            emulator.wait_delivered(timeout=0)
        emulator.configure_delivery(deliver_to=receiver.url)
        emulator.wait_delivered(timeout=PATIENCE)
    assert len(receiver.accepted()) == 1


def test_batches_hold_at_most_100_in_order_as_json_lists(
    receiver: Receiver, settings: PassFortSettings
) -> None:
    with running_passfort_emulator(
        SEED_FILE, deliver_to=receiver.url, secret=SECRET, batch=True, batch_interval=0.01
    ) as emulator:
        emulator.configure_delivery(paused=True)
        emitted = []
        for round_number in range(11):  # 14 apps x 11 flag changes = 154 events
            for application in APPS:
                emitted += emulator.set_flag(application, f"FLAG_{round_number}")
        assert emulator.deliveries()["pending"] == len(emitted) == 154
        emulator.configure_delivery(paused=False)
        emulator.wait_delivered(timeout=PATIENCE)
    bodies = receiver.accepted()
    assert [len(body) for body in bodies] == [100, 54]
    assert all(isinstance(body, list) for body in bodies)
    assert [item["id"] for item in receiver.accepted_envelopes()] == [item["id"] for item in emitted]
    # What the emulator sends, the adapter parses: every event, in order.
    source = PassFortSource(settings)
    try:
        events = []
        for item in receiver.requests:
            events += source.parse_webhook(item.headers, json.dumps(item.body).encode())
    finally:
        source.close()
    assert [event.id for event in events] == [item["id"] for item in emitted]


def test_failed_batch_is_resent_whole(receiver: Receiver) -> None:
    receiver.fail_next(503)
    with running_passfort_emulator(
        SEED_FILE, deliver_to=receiver.url, secret=SECRET, batch=True, batch_interval=0.01
    ) as emulator:
        emulator.configure_delivery(paused=True)
        emitted = [*emulator.set_status(APPS[0], "APPROVED"), *emulator.set_status(APPS[1], "APPROVED")]
        emulator.configure_delivery(paused=False)
        emulator.wait_delivered(timeout=PATIENCE)
    assert [item.status for item in receiver.requests] == [503, 200]
    assert receiver.requests[0].body == receiver.requests[1].body
    assert [item["id"] for item in receiver.accepted_envelopes()] == [item["id"] for item in emitted]


@pytest.mark.parametrize(
    ("auth", "header", "in_body"),
    [
        pytest.param("header", True, False, id="header"),
        pytest.param("body", False, True, id="body"),
        pytest.param("none", False, False, id="none"),
    ],
)
def test_auth_modes_for_receiver_tests(receiver: Receiver, auth: str, header: bool, in_body: bool) -> None:
    with running_passfort_emulator(SEED_FILE, deliver_to=receiver.url, secret=SECRET) as emulator:
        emulator.configure_delivery(auth=auth)
        emulator.set_status(APPS[0], "APPROVED")
        emulator.wait_delivered()
    (request,) = receiver.requests
    assert ("authorization" in request.headers) is header
    assert ("secret" in request.body) is in_body


def test_without_a_target_webhooks_wait() -> None:
    with running_passfort_emulator(SEED_FILE) as emulator:
        emulator.set_status(APPS[0], "APPROVED")
        emulator.set_flag(APPS[0], None)
        status = emulator.deliveries()
    assert status["pending"] == 2
    assert status["requests"] == 0
