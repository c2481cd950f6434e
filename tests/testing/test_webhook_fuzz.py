"""The webhook suite's request generators: every place of a sample, every hostile value."""

from __future__ import annotations

import json

from hypothesis import given, settings

from fieldline.testing import WebhookRequest
from fieldline.testing.webhook_fuzz import HOSTILE_VALUES, near_misses, requests_like

VALID = WebhookRequest.json({"id": "e1", "data": {"key": "k", "tags": ["a"]}}, headers={"X-Token": "t"})


def test_near_misses_change_every_place_one_at_a_time() -> None:
    misses = dict(near_misses(VALID))
    places = ("$.id", "$.data", "$.data.key", "$.data.tags", "$.data.tags[0]")
    for place in places:
        assert f"{place} removed" in misses
        assert f"{place} = None" in misses
    assert "$ = None" in misses
    assert "$ removed" not in misses
    assert len(misses) == (len(places) + 1) * len(HOSTILE_VALUES) + len(places)
    assert all(request.headers == {"X-Token": "t"} for request in misses.values())
    assert json.loads(misses["$.data.key removed"].body) == {"id": "e1", "data": {"tags": ["a"]}}
    assert json.loads(misses["$.data.tags[0] = ''"].body) == {"id": "e1", "data": {"key": "k", "tags": [""]}}
    assert json.loads(VALID.body)["data"]["key"] == "k", "the sample itself is never changed"


def test_a_sample_that_is_not_json_has_no_near_misses() -> None:
    assert list(near_misses(WebhookRequest(b"\x00 not json"))) == []


@settings(max_examples=50)
@given(request=requests_like(VALID))
def test_generated_requests_are_requests(request: WebhookRequest) -> None:
    assert isinstance(request.body, bytes)
    assert all(isinstance(name, str) and isinstance(value, str) for name, value in request.headers.items())
