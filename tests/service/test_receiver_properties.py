"""Property: whatever a sender sends, the receiver answers 200, 400, 401 or 413 (never 500 or a
traceback), and a refused request stores nothing. Through the real app and PassFort's parser."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from fieldline.adapters.passfort.webhooks import parse_webhook_body
from fieldline.config import Secret
from fieldline.contracts import SourceBase, SourceEvent
from fieldline.queue.sqlite_queue import SQLiteJobQueue
from fieldline.service.app import ServiceSettings, create_app
from fieldline.testing.server import serve_in_thread

SECRET = "property-secret"


class PassFortWebhooks(SourceBase):
    """Only PassFort's webhook parsing: what the receiver runs for ``/webhooks/passfort``."""

    name = "passfort"

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> list[SourceEvent]:
        return parse_webhook_body(headers, body, secret=Secret(SECRET))


IDS = st.text(min_size=1, max_size=12) | st.just("x\ud800") | st.text(min_size=256, max_size=300)
SECRETS = st.sampled_from([SECRET, "wrong"])


@st.composite
def envelopes(draw: st.DrawFn) -> dict[str, Any]:
    data: dict[str, Any] = {"profile_id": draw(IDS)}
    if draw(st.booleans()):
        data["application_id"] = draw(IDS)
    if draw(st.booleans()):
        depth = draw(st.sampled_from([2, 31, 33, 600, 950]))
        data["nested"] = json.loads("[" * depth + "]" * depth) if depth < 900 else "DEEP"
    item: dict[str, Any] = {"id": draw(IDS), "event": draw(st.sampled_from(["PRODUCT_STATUS_CHANGED", "X"]))}
    item["timestamp"] = draw(st.integers(0, 2_000_000_000) | st.just("soon"))
    item["data"] = data
    if draw(st.booleans()):
        item["secret"] = draw(SECRETS)
    return item


@st.composite
def bodies(draw: st.DrawFn) -> bytes:
    """JSON text (with lone-surrogate escapes, duplicate keys, deep nesting) or arbitrary bytes."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=64))
    items = draw(st.lists(envelopes(), min_size=1, max_size=3))
    document: Any = items if len(items) > 1 or draw(st.booleans()) else items[0]
    text = json.dumps(document).replace('"DEEP"', "[" * 950 + "]" * 950)
    if draw(st.booleans()):  # a key given twice, as raw JSON allows
        key = draw(st.sampled_from(["secret", "id", "event"]))
        value = json.dumps(draw(SECRETS | IDS))
        text = text.replace('{"id"', f'{{"{key}": {value}, "id"', 1)
    return text.encode()  # json.dumps wrote any lone surrogate as a \ud800 escape


HEADERS = st.lists(
    st.tuples(
        st.sampled_from(["authorization", "Authorization", "content-type"]),
        st.sampled_from([f"Bearer {SECRET}", "Bearer wrong", "Basic abc", "application/json", ""]),
    ),
    max_size=3,
)


def test_every_answer_is_a_known_status_and_refusals_store_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    queue = SQLiteJobQueue(tmp_path / "q.db")
    app = create_app(
        queue=queue, sources={"passfort": PassFortWebhooks()}, settings=ServiceSettings(max_body_bytes=3000)
    )

    def stored() -> int:
        return sum(queue.status().counts.values())

    with (
        caplog.at_level(logging.INFO),
        serve_in_thread(app) as url,
        httpx.Client(base_url=url, timeout=30) as client,
    ):

        @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
        @given(headers=HEADERS, body=bodies())
        def check(headers: list[tuple[str, str]], body: bytes) -> None:
            before = stored()
            response = client.post("/webhooks/passfort", content=body, headers=headers)
            assert response.status_code in (200, 400, 401, 413), response.text
            if response.status_code != 200:
                assert stored() == before, "a refused request stored events"

        check()
    queue.close()
    assert [record.getMessage() for record in caplog.records if record.exc_info] == []
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]
