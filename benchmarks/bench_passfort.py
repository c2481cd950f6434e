"""PassFort adapter figures: webhook parsing, profile fetches and emulator delivery over loopback."""

from __future__ import annotations

import json
import time
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fieldline.adapters.passfort.emulator import running_passfort_emulator
from fieldline.adapters.passfort.settings import PassFortSettings
from fieldline.adapters.passfort.source import PassFortSource
from fieldline.adapters.passfort.webhooks import parse_webhook_body
from fieldline.config import Secret
from fieldline.testing.server import serve_in_thread

SECRET = "bench-secret"
API_KEY = "bench-key"


def _envelope(number: int) -> dict[str, Any]:
    return {
        "id": f"event-{number}",
        "event": "PRODUCT_STATUS_CHANGED",
        "secret": SECRET,
        "timestamp": 1568997222 + number,
        "data": {
            "apikey": {"name": "KEY"},
            "application_id": f"app-{number}",
            "customer_ref": None,
            "new_status": "APPROVED",
            "product": {"alias": "forexo_basic", "id": "p", "name": "Forexo Basic Account"},
            "profile_id": f"profile-{number % 50}",
            "user": None,
        },
    }


def _parse_rate() -> float:
    body = json.dumps([_envelope(number) for number in range(100)]).encode()
    headers = {"authorization": f"Bearer {SECRET}"}
    secret = Secret(SECRET)
    rounds = 300
    started = time.perf_counter()
    for _ in range(rounds):
        parse_webhook_body(headers, body, secret=secret)
    return rounds * 100 / (time.perf_counter() - started)


def _profiles(count: int) -> list[dict[str, Any]]:
    return [
        {
            "id": f"profile-{number:05d}",
            "role": "COMPANY_CUSTOMER",
            "collected_data": {"metadata": {"name": f"Company {number}"}},
            "applications": [
                {"product": {"alias": "forexo_basic", "name": "Forexo Basic Account"}, "status": "APPLIED"},
                {"product": {"alias": "mortgage", "name": "Mortgage"}, "status": "IN_REVIEW"},
            ],
        }
        for number in range(count)
    ]


def _fetch_rate(concurrency: int, *, latency_ms: float, count: int) -> float:
    profiles = _profiles(count)
    with running_passfort_emulator(profiles=profiles, api_key=API_KEY) as emulator:
        emulator.set_faults(latency_ms=latency_ms)
        settings = PassFortSettings(api_key=Secret(API_KEY), base_url=emulator.api_url)
        source = PassFortSource(
            settings, profile_ids=[item["id"] for item in profiles], concurrency=concurrency
        )
        try:
            started = time.perf_counter()
            count = sum(1 for _ in source.read())
            elapsed = time.perf_counter() - started
        finally:
            source.close()
    return count / elapsed


def _delivery_rate(*, batch: bool, events: int) -> float:
    async def hook(request: Request) -> Response:
        await request.body()
        return Response("ok")

    receiver = Starlette(routes=[Route("/hook", hook, methods=["POST"])])
    flags = [f"FLAG_{number}" for number in range(events // 2)]
    with (
        serve_in_thread(receiver) as url,
        running_passfort_emulator(
            profiles=_profiles(2), deliver_to=f"{url}/hook", secret=SECRET, batch=batch, batch_interval=0.0
        ) as emulator,
    ):
        applications = [
            application["id"]
            for profile_id in emulator.profile_ids()
            for application in (emulator.profile(profile_id) or {})["applications"]
        ]
        emulator.configure_delivery(paused=True)
        for flag in flags:
            for application in applications[:2]:
                emulator.set_flag(application, flag)
        started = time.perf_counter()
        emulator.configure_delivery(paused=False)
        status = emulator.wait_delivered(timeout=120, poll=0.005)
        elapsed = time.perf_counter() - started
    return status["delivered"] / elapsed


def run() -> dict[str, float]:
    """Figures for ``make bench``."""
    return {
        "passfort_webhook_parse_events_per_s": _parse_rate(),
        # Loopback with no latency shows client+emulator overhead; 20 ms per call is closer to a
        # real API round trip, where fetching a few profiles at once pays off.
        "passfort_fetch_profiles_per_s_loopback": _fetch_rate(1, latency_ms=0, count=600),
        "passfort_fetch_profiles_per_s_20ms_c1": _fetch_rate(1, latency_ms=20, count=100),
        "passfort_fetch_profiles_per_s_20ms_c4": _fetch_rate(4, latency_ms=20, count=300),
        "passfort_emulator_deliveries_per_s_single": _delivery_rate(batch=False, events=600),
        "passfort_emulator_deliveries_per_s_batched": _delivery_rate(batch=True, events=2000),
    }
