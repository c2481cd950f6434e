"""Property: for any JSON payload and any schema of a generated family, intake answers 200 and
queues the event, or 422 with exactly the errors jsonschema reports; never 500, never a
queued invalid event."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from jsonschema import Draft202012Validator, FormatChecker

from fieldline.adapters.appevents.options import parse_options
from fieldline.adapters.appevents.source import AppEventsSource
from fieldline.contracts import AdapterContext, SourceBase, SourceEvent
from fieldline.queue.sqlite_queue import SQLiteJobQueue
from fieldline.service.app import create_app
from fieldline.testing.server import serve_in_thread
from tests.appevents.support import bearer, key_pair, token
from tests.strategies import json_values

_NAMES = st.sampled_from(["email", "name", "age", "tags", "plan", "active", "address"])


def _property_schema() -> st.SearchStrategy[dict[str, Any]]:
    leaf = st.one_of(
        st.builds(lambda n: {"type": "string", "maxLength": n}, st.integers(0, 6)),
        st.just({"type": "string", "format": "email"}),
        st.builds(
            lambda lo, span: {"type": "integer", "minimum": lo, "maximum": lo + span},
            st.integers(-5, 5),
            st.integers(0, 10),
        ),
        st.just({"type": "boolean"}),
        st.builds(
            lambda values: {"enum": values},
            st.lists(st.sampled_from(["a", "b", 1, None]), min_size=1, max_size=3, unique=True),
        ),
        st.builds(lambda n: {"type": "array", "items": {"type": "string"}, "maxItems": n}, st.integers(0, 3)),
    )
    return st.recursive(
        leaf,
        lambda inner: st.builds(
            lambda props, closed, required: {
                "type": "object",
                "properties": props,
                "additionalProperties": not closed,
                "required": sorted(set(required) & set(props)),
            },
            st.dictionaries(_NAMES, inner, max_size=3),
            st.booleans(),
            st.lists(_NAMES, max_size=2),
        ),
        max_leaves=6,
    )


@st.composite
def schemas(draw: st.DrawFn) -> dict[str, Any]:
    properties = draw(st.dictionaries(_NAMES, _property_schema(), min_size=1, max_size=4))
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": {**properties, "key": {"type": "string", "minLength": 1, "maxLength": 20}},
        "required": ["key", *sorted(draw(st.sets(st.sampled_from(sorted(properties)))))],
        "additionalProperties": draw(st.booleans()),
    }


def _valid(draw: st.DrawFn, schema: Mapping[str, Any]) -> Any:
    """A value ``schema`` accepts (most of the time: the generators only aim)."""
    if "enum" in schema:
        return draw(st.sampled_from(schema["enum"]))
    kind = schema.get("type")
    if kind == "string":
        if schema.get("format") == "email":
            return draw(st.sampled_from(["a@b.example", "ada@example.com"]))
        return draw(st.text(st.characters(codec="utf-8"), max_size=schema.get("maxLength", 10)))
    if kind == "integer":
        return draw(st.integers(schema["minimum"], schema["maximum"]))
    if kind == "boolean":
        return draw(st.booleans())
    if kind == "array":
        return draw(st.lists(st.text(max_size=3), max_size=schema["maxItems"]))
    properties = schema.get("properties", {})
    document = {
        name: _valid(draw, sub)
        for name, sub in properties.items()
        if name in schema.get("required", ()) or draw(st.booleans())
    }
    return document


@st.composite
def payloads(draw: st.DrawFn, schema: Mapping[str, Any]) -> Any:
    """Objects the schema accepts, or a little wrong, sometimes anything."""
    roll = draw(st.integers(0, 9))  # small (what Hypothesis tries first): valid
    if roll == 9:
        return draw(json_values())
    document: dict[str, Any] = {}
    for name, sub in schema["properties"].items():
        if name in schema["required"] or draw(st.booleans()):
            document[name] = _valid(draw, sub) if roll < 6 else draw(json_values(max_leaves=3))
    document["key"] = draw(st.text("abcxyz@.-_", min_size=1, max_size=10)) if roll != 8 else 5
    if roll < 4:
        return document
    if draw(st.booleans()):
        document[draw(st.sampled_from(["extra", "email"]))] = draw(st.sampled_from(["x", "a@b.c", 3]))
    return document


class Swappable(SourceBase):
    """The receiver's source, swapped for each example (one server for the whole property)."""

    name = "appevents"

    def __init__(self) -> None:
        self.inner: AppEventsSource | None = None

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> Sequence[SourceEvent]:
        assert self.inner is not None
        return self.inner.parse_webhook(headers, body)


@pytest.fixture
def intake(tmp_path: Path) -> Iterator[tuple[httpx.Client, SQLiteJobQueue, Swappable, Path]]:
    swappable = Swappable()
    queue = SQLiteJobQueue(tmp_path / "q.db")
    (tmp_path / "app-public.pem").write_text(key_pair(0).public_pem)
    app = create_app(queue=queue, sources={"appevents": swappable})
    with serve_in_thread(app) as url, httpx.Client(base_url=url, timeout=10) as http:
        yield http, queue, swappable, tmp_path
    queue.close()


def test_intake_accepts_exactly_the_valid_payloads_and_reports_jsonschemas_errors(
    intake: tuple[httpx.Client, SQLiteJobQueue, Swappable, Path],
) -> None:
    http, queue, swappable, folder = intake
    numbers = itertools.count()
    headers = bearer(token())

    @settings(
        max_examples=60,
        deadline=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.function_scoped_fixture,
        ],
    )
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        schema = data.draw(schemas(), label="schema")
        payload = data.draw(payloads(schema), label="payload")
        file = folder / f"schema-{next(numbers)}.json"  # a new file: compiled afresh
        file.write_text(json.dumps(schema))
        options = {
            "public_keys": "app-public.pem",
            "events": [{"name": "Thing Happened", "schema": file.name, "entity_key": "payload.key"}],
        }
        swappable.inner = AppEventsSource(parse_options(options, AdapterContext(spec_folder=folder)))
        before = queue.status().counts.get("todo", 0)  # type: ignore[call-overload]
        answer = http.post(
            "/webhooks/appevents",
            content=json.dumps({"name": "Thing Happened", "payload": payload}).encode(),
            headers=headers,
        )
        after = queue.status().counts.get("todo", 0)  # type: ignore[call-overload]
        validator = Draft202012Validator(schema, format_checker=FormatChecker())
        expected = sorted(
            (
                "/payload" + "".join(f"/{part}" for part in error.absolute_path),
                str(error.validator),
                error.message,
            )
            for error in validator.iter_errors(payload)
        )
        if not isinstance(payload, dict):
            assert answer.status_code == 400, answer.text  # not an event: refused before its schema
            assert after == before
            return
        if expected:
            assert answer.status_code == 422, answer.text
            [failure] = answer.json()["failed"]
            reported = sorted((e["pointer"], e["keyword"], e["message"]) for e in failure["errors"])
            assert reported == expected
            assert after == before, "an invalid event was queued"
        else:
            assert answer.status_code in (200, 400), answer.text  # 400: a key that is no key
            if answer.status_code == 200:
                assert answer.json()["queued"] + answer.json()["duplicates"] == 1
                assert after - before == answer.json()["queued"]
            else:
                assert after == before

    check()
