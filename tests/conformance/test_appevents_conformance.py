"""The source and webhook-source suites against the appevents adapter: tokens signed with a
test key, payloads checked against the shipped "Lead Created"/"Lead Updated" schemas."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fieldline.adapters.appevents.source import AppEventsSource
from fieldline.testing import WebhookRequest, get_source_test_class, get_webhook_source_test_class
from tests.appevents.support import bearer, event, lead, make_source, token


def _make_source(request: pytest.FixtureRequest) -> AppEventsSource:
    folder: Path = request.getfixturevalue("tmp_path") / "spec"
    folder.mkdir()
    lines = [
        {"sub": "user-1", "name": "Lead Created", "payload": lead("a@example.com"), "id": "e1"},
        {"sub": "user-1", "name": "Lead Updated", "payload": {"email": "c@example.com", "title": "CTO"}},
        {
            "sub": "user-2",
            "name": "Lead Created",
            "payload": lead("b@example.com"),
            "timestamp": 1_790_000_000,
        },
    ]
    (folder / "past.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    return make_source(folder, backfill="past.jsonl")


def _make_unready_source() -> AppEventsSource:
    import tempfile

    return make_source(Path(tempfile.mkdtemp(prefix="fieldline-appevents-")), backfill="missing.jsonl")


def _unconfigured() -> AppEventsSource:
    import tempfile

    return make_source(Path(tempfile.mkdtemp(prefix="fieldline-appevents-")), public_keys=[])


# The token is made once: the suite parses the same request twice and expects the same events.
TOKEN = bearer(token())

TestAppEventsSourceConformance = get_source_test_class(
    make_source=_make_source,
    make_unready_source=_make_unready_source,
    class_name="TestAppEventsSourceConformance",
)

TestAppEventsWebhookConformance = get_webhook_source_test_class(
    make_source=_make_source,
    valid=WebhookRequest.json(event(payload=lead(), id="evt-1"), headers=TOKEN),
    batch=WebhookRequest.json(
        [
            event(payload=lead("a@example.com"), id="evt-2"),
            event(name="Lead Updated", payload={"email": "b@example.com", "title": "CTO"}),
        ],
        headers=TOKEN,
    ),
    wrong_credentials=[
        WebhookRequest.json(event(), headers={}),
        WebhookRequest.json(event(), headers=bearer(token(number=1))),
        WebhookRequest.json(event(), headers=bearer(token(exp=1))),
        WebhookRequest.json(event(), headers={"Authorization": "Bearer x.y.z"}),
    ],
    malformed=[
        WebhookRequest(b"{not json", headers=TOKEN),
        WebhookRequest.json("a lead, in words", headers=TOKEN),
        WebhookRequest.json({"payload": lead()}, headers=TOKEN),
        WebhookRequest.json({"name": "Lead Created", "payload": "ada"}, headers=TOKEN),
    ],
    enabled_types=["Lead Created", "Lead Updated"],
    disabled_types=["Trial Started", "lead created"],
    make_unconfigured_source=_unconfigured,
    fuzz_examples=60,
    class_name="TestAppEventsWebhookConformance",
)
