"""The webhook source conformance suite: what every :class:`WebhookSource` must do with requests.

The author supplies sample requests; templates assembled by
:func:`get_webhook_source_test_class` check what the service relies on::

    from fieldline.testing import WebhookRequest, get_webhook_source_test_class

    TestMyWebhooks = get_webhook_source_test_class(
        make_source=lambda: MySource(secret="s3cret"),
        valid=WebhookRequest.json({"id": "e1", ...}, headers={"X-Token": "s3cret"}),
        batch=WebhookRequest.json([...], headers={"X-Token": "s3cret"}),   # None: no batches
        wrong_credentials=[WebhookRequest.json({...}, headers={"X-Token": "wrong"})],
        malformed=[WebhookRequest(b"{not json", headers={"X-Token": "s3cret"})],
        enabled_types=["widget.updated"], disabled_types=["widget.viewed"],
        make_unconfigured_source=lambda: MySource(secret=None),
    )

Valid requests must give well-formed :class:`SourceEvent`s (the same ids when parsed again, so
the queue can drop a redelivery); wrong credentials a ``WebhookError`` with status 401,
malformed bodies 400; and no body or header, however odd (every one-place change of the samples,
then a Hypothesis fuzz), may raise anything but ``WebhookError``: any other exception would be a
500 and a sender retrying forever.
"""

from __future__ import annotations

import json
import math
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, ClassVar

from fieldline.contracts import EventRole, SourceAdapter, SourceEvent, WebhookSource
from fieldline.errors import WebhookError
from fieldline.testing.assertions import expect_config_error
from fieldline.testing.factories import build_test_class, suite_config

__all__ = [
    "TEMPLATES",
    "WebhookRequest",
    "WebhookTestConfig",
    "WebhookTestTemplate",
    "check_event",
    "get_webhook_source_test_class",
]


@dataclass(frozen=True, slots=True)
class WebhookRequest:
    """One sample request: the raw body and the headers a sender would send."""

    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, document: Any, *, headers: Mapping[str, str] | None = None) -> WebhookRequest:
        """A request whose body is ``document`` as JSON."""
        return cls(json.dumps(document).encode("utf-8"), dict(headers or {}))


@dataclass(frozen=True, slots=True)
class WebhookTestConfig:
    """The samples and expectations of one webhook source (see the module docstring)."""

    make_source: Callable[..., WebhookSource]
    valid: WebhookRequest
    wrong_credentials: Sequence[WebhookRequest]
    malformed: Sequence[WebhookRequest]
    batch: WebhookRequest | None = None
    enabled_types: Sequence[str] = ()
    disabled_types: Sequence[str] = ()
    make_unconfigured_source: Callable[[], WebhookSource] | None = None
    fuzz_examples: int = 100

    def __post_init__(self) -> None:
        # tuples: a caller's list changed later must not change the suite's samples
        for name in ("wrong_credentials", "malformed", "enabled_types", "disabled_types"):
            object.__setattr__(self, name, tuple(getattr(self, name)))


class WebhookTestTemplate:
    """One standard test. Subclasses set ``name`` and implement :meth:`run`."""

    name: ClassVar[str] = ""

    def run(self, source: WebhookSource, config: WebhookTestConfig) -> None:
        """Exercise ``source``; fail with ``AssertionError``."""
        raise NotImplementedError


# --- helpers -------------------------------------------------------------------------------


def check_event(event: object, where: str) -> None:
    """Fail unless ``event`` is a :class:`SourceEvent` the queue and worker can use."""
    assert isinstance(event, SourceEvent), f"{where}: expected a SourceEvent, got {event!r}"
    for name in ("id", "type", "entity_key"):
        value = getattr(event, name)
        assert isinstance(value, str), f"{where}: {name} {value!r} is not a string"
        assert value.strip(), f"{where}: {name} is empty"
    occurred = event.occurred_at
    assert isinstance(occurred, int | float), f"{where}: occurred_at {occurred!r} is not a number"
    assert not isinstance(occurred, bool), f"{where}: occurred_at {occurred!r} is a bool"
    assert math.isfinite(occurred), f"{where}: occurred_at {occurred!r} is not finite"
    assert isinstance(event.payload, Mapping), f"{where}: payload {event.payload!r} is not a mapping"
    assert isinstance(event.ordering_keys, tuple), f"{where}: ordering_keys must be a tuple"
    keys = event.version_keys
    assert keys, f"{where}: version_keys is empty"
    assert all(isinstance(key, str) and key for key in keys), f"{where}: version_keys {keys!r}"
    assert isinstance(event.role, EventRole), f"{where}: role {event.role!r} is not an EventRole"


def parse(source: WebhookSource, request: WebhookRequest) -> list[SourceEvent]:
    """The events of ``request`` (a copy of its headers, so a source cannot keep them)."""
    return list(source.parse_webhook(dict(request.headers), request.body))


def parse_valid(source: WebhookSource, request: WebhookRequest, what: str) -> list[SourceEvent]:
    """The events of a request that must be accepted, each checked."""
    try:
        events = parse(source, request)
    except Exception as exc:
        raise AssertionError(f"{what}: refused with {type(exc).__name__}: {exc}") from exc
    for index, event in enumerate(events):
        check_event(event, f"{what}: event {index}")
    return events


def expect_refusal(source: WebhookSource, request: WebhookRequest, status: int, what: str) -> None:
    """Fail unless parsing ``request`` raises ``WebhookError`` with ``status``."""
    try:
        events = parse(source, request)
    except WebhookError as exc:
        refusal = exc
    except Exception as exc:
        raise AssertionError(
            f"{what}: raised {type(exc).__name__}: {exc}; must raise WebhookError(status={status})"
        ) from exc
    else:
        raise AssertionError(f"{what}: accepted ({len(events)} events); must raise WebhookError({status})")
    assert refusal.status == status, f"{what}: WebhookError status {refusal.status}, expected {status}"
    assert str(refusal), f"{what}: the WebhookError needs a message for the sender"


def expect_refusals(
    source: WebhookSource, requests: Sequence[WebhookRequest], status: int, samples: str
) -> None:
    """Fail unless there is a sample and each of ``requests`` is refused with ``status``."""
    assert requests, f"give at least one {samples} sample"
    for index, request in enumerate(requests):
        expect_refusal(source, request, status, f"{samples}[{index}]")


def survives(source: WebhookSource, request: WebhookRequest, what: str) -> None:
    """Fail unless parsing ``request`` gives well-formed events or an HTTP-error WebhookError."""
    try:
        events = parse(source, request)
    except WebhookError as exc:
        status = exc.status
    except Exception as exc:
        # Not chained: Hypothesis shrinks every distinct chain as a separate bug (slowly); one
        # failure with the place it happened is enough to fix the parser.
        raise AssertionError(
            f"{what}: parse_webhook raised {type(exc).__name__}: {exc} ({_where(exc)}); "
            "refuse with WebhookError(400)"
        ) from None
    else:
        for index, event in enumerate(events):
            check_event(event, f"{what}: accepted event {index}")
        return
    assert 400 <= status <= 599, f"{what}: WebhookError status {status} is not an HTTP error"


def _where(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return "no traceback"
    last = frames[-1]
    return f"at {last.filename}:{last.lineno} in {last.name}"


def _identity(event: SourceEvent) -> tuple[Any, ...]:
    return (event.id, event.type, event.entity_key, event.version_keys, event.role)


def _close(source: WebhookSource) -> None:
    if isinstance(source, SourceAdapter):
        source.close()


@contextmanager
def _closing(source: WebhookSource) -> Iterator[WebhookSource]:
    try:
        yield source
    finally:
        _close(source)


# --- templates -----------------------------------------------------------------------------


class ImplementsTheContract(WebhookTestTemplate):
    """The source satisfies ``WebhookSource``."""

    name = "implements_the_contract"

    def run(self, source: WebhookSource, config: WebhookTestConfig) -> None:
        assert isinstance(source, WebhookSource), "the source lacks a WebhookSource method"


class ValidRequestGivesOneEvent(WebhookTestTemplate):
    """The valid single sample gives exactly one well-formed event."""

    name = "valid_request_gives_one_event"

    def run(self, source: WebhookSource, config: WebhookTestConfig) -> None:
        events = parse_valid(source, config.valid, "the valid sample")
        assert len(events) == 1, f"the valid sample gave {len(events)} events, expected one"


class BatchGivesEveryEvent(WebhookTestTemplate):
    """The batch sample gives several well-formed events with distinct ids."""

    name = "batch_gives_every_event"

    def run(self, source: WebhookSource, config: WebhookTestConfig) -> None:
        if config.batch is None:
            import pytest

            pytest.skip("no batch sample: this source takes one event a request")
        events = parse_valid(source, config.batch, "the batch sample")
        assert len(events) >= 2, f"the batch sample gave {len(events)} events; give one with several"
        ids = [event.id for event in events]
        assert len(set(ids)) == len(ids), f"events of one batch share ids: {ids}"


class SameRequestSameEvents(WebhookTestTemplate):
    """A redelivered request gives the same event ids, keys and roles (the queue dedupes by id)."""

    name = "same_request_same_events"

    def run(self, source: WebhookSource, config: WebhookTestConfig) -> None:
        for what, request in (("the valid sample", config.valid), ("the batch sample", config.batch)):
            if request is None:
                continue
            first = [_identity(event) for event in parse_valid(source, request, what)]
            again = [_identity(event) for event in parse_valid(source, request, what)]
            assert first == again, f"{what} parsed twice gave different events: {first} then {again}"


class WrongCredentialsAre401(WebhookTestTemplate):
    """Every wrong-credentials sample raises ``WebhookError`` with status 401."""

    name = "wrong_credentials_are_401"

    def run(self, source: WebhookSource, config: WebhookTestConfig) -> None:
        expect_refusals(source, config.wrong_credentials, 401, "wrong_credentials")


class MalformedIs400(WebhookTestTemplate):
    """Every malformed sample raises ``WebhookError`` with status 400."""

    name = "malformed_is_400"

    def run(self, source: WebhookSource, config: WebhookTestConfig) -> None:
        expect_refusals(source, config.malformed, 400, "malformed")


class NearMissesGiveEventsOrWebhookError(WebhookTestTemplate):
    """Every place of the valid (and batch) sample removed or set to a hostile value (null, a
    wrong type, blank, NaN, a number beyond float...), one at a time: well-formed events or a
    ``WebhookError``, never another exception."""

    name = "near_misses_give_events_or_webhook_error"

    def run(self, source: WebhookSource, config: WebhookTestConfig) -> None:
        from fieldline.testing.webhook_fuzz import near_misses

        for sample, request in (("valid", config.valid), ("batch", config.batch)):
            if request is None:
                continue
            for what, near_miss in near_misses(request):
                survives(source, near_miss, f"the {sample} sample with {what}")


class AnyRequestGivesEventsOrWebhookError(WebhookTestTemplate):
    """Fuzz: arbitrary bodies and headers, and mutated copies of the valid sample, give
    well-formed events or a ``WebhookError`` (4xx/5xx), never another exception."""

    name = "any_request_gives_events_or_webhook_error"

    def run(self, source: WebhookSource, config: WebhookTestConfig) -> None:
        from hypothesis import HealthCheck, given, settings

        from fieldline.testing.webhook_fuzz import requests_like

        @settings(
            max_examples=config.fuzz_examples,
            deadline=None,
            report_multiple_bugs=False,  # one clear failure (an AssertionError), not a group
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        )
        @given(request=requests_like(config.valid))
        def fuzz(request: WebhookRequest) -> None:
            survives(source, request, "a fuzzed request")

        fuzz()


class IsEnabledAnswersBool(WebhookTestTemplate):
    """``is_enabled`` is ``True`` for the enabled types, ``False`` for the disabled ones, and a
    ``bool`` for any string (an unknown type is no error)."""

    name = "is_enabled_answers_bool"

    def run(self, source: WebhookSource, config: WebhookTestConfig) -> None:
        for event_type in config.enabled_types:
            assert _is_enabled(source, event_type) is True, f"is_enabled({event_type!r}) must be True"
        for event_type in config.disabled_types:
            assert _is_enabled(source, event_type) is False, f"is_enabled({event_type!r}) must be False"
        sampled = [event.type for event in parse_valid(source, config.valid, "the valid sample")]
        for event_type in (*sampled, "", "fieldline.conformance.unknown", "ÜNÏCODE \x00"):
            answer = _is_enabled(source, event_type)
            assert isinstance(answer, bool), f"is_enabled({event_type!r}) gave {answer!r}, not a bool"


def _is_enabled(source: WebhookSource, event_type: str) -> object:
    try:
        return source.is_enabled(event_type)
    except Exception as exc:
        raise AssertionError(
            f"is_enabled({event_type!r}) raised {type(exc).__name__}: {exc}; an unknown type is False"
        ) from exc


class CheckReceiving(WebhookTestTemplate):
    """``check_receiving()`` passes when configured; an unconfigured source raises
    ``ConfigError`` there and refuses the valid sample with a ``WebhookError``."""

    name = "check_receiving"

    def run(self, source: WebhookSource, config: WebhookTestConfig) -> None:
        source.check_receiving()  # a configured source must not refuse
        if config.make_unconfigured_source is None:
            return
        with _closing(config.make_unconfigured_source()) as unconfigured:
            expect_config_error(
                unconfigured.check_receiving, "check_receiving() of make_unconfigured_source()"
            )
            try:
                events = parse(unconfigured, config.valid)
            except WebhookError:
                return
            raise AssertionError(f"an unconfigured source accepted the valid sample ({len(events)} events)")


TEMPLATES: tuple[type[WebhookTestTemplate], ...] = (
    ImplementsTheContract,
    ValidRequestGivesOneEvent,
    BatchGivesEveryEvent,
    SameRequestSameEvents,
    WrongCredentialsAre401,
    MalformedIs400,
    NearMissesGiveEventsOrWebhookError,
    AnyRequestGivesEventsOrWebhookError,
    IsEnabledAnswersBool,
    CheckReceiving,
)


def get_webhook_source_test_class(
    *,
    make_source: Callable[..., WebhookSource],
    valid: WebhookRequest,
    wrong_credentials: Sequence[WebhookRequest],
    malformed: Sequence[WebhookRequest],
    batch: WebhookRequest | None = None,
    enabled_types: Sequence[str] = (),
    disabled_types: Sequence[str] = (),
    make_unconfigured_source: Callable[[], WebhookSource] | None = None,
    fuzz_examples: int = 100,
    templates: Sequence[type[WebhookTestTemplate]] = TEMPLATES,
    class_name: str = "TestWebhookSourceConformance",
) -> type:
    """A pytest test class with one ``test_<template>`` per template.

    ``make_source`` returns a fresh source for each test (closed afterwards if it has
    ``close``); if it takes one argument it receives pytest's ``request``.
    """
    config = suite_config(WebhookTestConfig, locals())
    return build_test_class(
        class_name=class_name, config=config, make=make_source, templates=templates, close=_close
    )
