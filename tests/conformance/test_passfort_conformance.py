"""The source and webhook-source suites against the PassFort adapter: reads and fetches go to
the emulator, webhooks are checked with the shared secret."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from fieldline.adapters.passfort.emulator import SEED_FILE, PassFortEmulator, running_passfort_emulator
from fieldline.adapters.passfort.settings import PassFortSettings
from fieldline.adapters.passfort.source import PassFortSource
from fieldline.config import Secret
from fieldline.testing import WebhookRequest, get_source_test_class, get_webhook_source_test_class
from tests.passfort.conftest import API_KEY, SECRET

PROFILE_IDS = [profile["id"] for profile in json.loads(SEED_FILE.read_text(encoding="utf-8"))["profiles"]]
BEARER = {"Authorization": f"Bearer {SECRET}"}


def _settings(**changes: Any) -> PassFortSettings:
    values: dict[str, Any] = {
        "api_key": Secret(API_KEY),
        "webhook_secret": Secret(SECRET),
        "backoff_base": 0.001,
        "backoff_cap": 0.002,
        **changes,
    }
    return PassFortSettings(**values)


def _envelope(number: int, event: str = "PRODUCT_STATUS_CHANGED", **changes: Any) -> dict[str, Any]:
    return {
        "id": f"event-{number}",
        "event": event,
        "secret": SECRET,
        "timestamp": 1_568_997_222 + number,
        "data": {"profile_id": PROFILE_IDS[number % len(PROFILE_IDS)], "new_status": "APPROVED"},
        **changes,
    }


@pytest.fixture(scope="module")
def conformance_passfort() -> Iterator[PassFortEmulator]:
    with running_passfort_emulator(SEED_FILE, api_key=API_KEY) as handle:
        yield handle


def _make_source(request: pytest.FixtureRequest) -> PassFortSource:
    emulator: PassFortEmulator = request.getfixturevalue("conformance_passfort")
    return PassFortSource(_settings(base_url=emulator.api_url), profile_ids=PROFILE_IDS[:4])


TestPassFortSourceConformance = get_source_test_class(
    make_source=_make_source,
    make_unready_source=lambda: PassFortSource(_settings(api_key=None), profile_ids=PROFILE_IDS),
    class_name="TestPassFortSourceConformance",
)

TestPassFortWebhookConformance = get_webhook_source_test_class(
    make_source=lambda: PassFortSource(_settings()),
    valid=WebhookRequest.json(_envelope(1)),
    batch=WebhookRequest.json([_envelope(2), _envelope(3, "PRODUCT_BADGE_CHANGED")], headers=BEARER),
    wrong_credentials=[
        WebhookRequest.json(_envelope(1), headers={"Authorization": "Bearer wrong"}),
        WebhookRequest.json(_envelope(1, secret="wrong")),
        WebhookRequest.json({key: value for key, value in _envelope(1).items() if key != "secret"}),
    ],
    malformed=[
        WebhookRequest(b"{not json", headers=BEARER),
        WebhookRequest.json("an envelope, in words", headers=BEARER),
        WebhookRequest.json(_envelope(1, data={"new_status": "APPROVED"})),
        WebhookRequest.json(_envelope(1, timestamp=[1])),
    ],
    enabled_types=["PRODUCT_STATUS_CHANGED", "product_badge_changed", "PRODUCT_FLAG_CHANGED"],
    disabled_types=["TASK_CREATED", "NOT_AN_EVENT"],
    make_unconfigured_source=lambda: PassFortSource(_settings(webhook_secret=None)),
    class_name="TestPassFortWebhookConformance",
)
