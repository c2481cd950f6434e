"""Fixtures for the PassFort adapter tests: a recording webhook receiver and settings."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fieldline.adapters.passfort.settings import PassFortSettings
from fieldline.config import Secret
from fieldline.testing.server import serve_in_thread

API_KEY = "test-api-key"
SECRET = "test-webhook-secret"


@dataclass
class Received:
    """One request the receiver got."""

    headers: dict[str, str]
    body: Any
    status: int


@dataclass
class Receiver:
    """A webhook endpoint that answers from a script (then 200) and records every request."""

    url: str = ""
    script: list[int] = field(default_factory=list)
    requests: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fail_next(self, *statuses: int) -> None:
        with self.lock:
            self.script.extend(statuses)

    def accepted(self) -> list[Any]:
        """Bodies answered 200, in order."""
        return [item.body for item in self.requests if item.status == 200]

    def accepted_envelopes(self) -> list[dict[str, Any]]:
        """Every envelope answered 200 (batches flattened), in order."""
        flat: list[dict[str, Any]] = []
        for body in self.accepted():
            flat.extend(body if isinstance(body, list) else [body])
        return flat


def _receiver_app(receiver: Receiver) -> Starlette:
    async def hook(request: Request) -> Response:
        raw = await request.body()
        with receiver.lock:
            status = receiver.script.pop(0) if receiver.script else 200
        receiver.requests.append(Received(dict(request.headers), json.loads(raw), status))
        return Response("ok" if status == 200 else "no", status_code=status)

    return Starlette(routes=[Route("/hook", hook, methods=["POST"])])


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A running recording receiver; its ``url`` is the webhook endpoint."""
    recorder = Receiver()
    with serve_in_thread(_receiver_app(recorder)) as base_url:
        recorder.url = f"{base_url}/hook"
        yield recorder


@pytest.fixture
def settings() -> PassFortSettings:
    """Settings with both secrets and no waiting between retries."""
    return PassFortSettings(
        api_key=Secret(API_KEY), webhook_secret=Secret(SECRET), backoff_base=0.001, backoff_cap=0.002
    )
