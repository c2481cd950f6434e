"""The conformance templates fail on adapters that break the contract (they are not vacuous)."""

from __future__ import annotations

import dataclasses
import json
import math
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from fieldline.adapters.files.target import FilesTarget
from fieldline.contracts import (
    ApplyResult,
    LookupRequest,
    LookupResult,
    SourceBase,
    SourceDocument,
    SourceEvent,
    Stop,
    StopReason,
    Write,
    WriteResult,
)
from fieldline.errors import ConfigError, WebhookError
from fieldline.testing import MemorySource, get_source_test_class, get_webhook_source_test_class
from fieldline.testing.source_suite import TEMPLATES as SOURCE_TEMPLATES, SourceTestConfig, SourceTestTemplate
from fieldline.testing.target_suite import (
    TEMPLATES,
    TargetTestConfig,
    TargetTestTemplate,
    get_target_test_class,
)
from fieldline.testing.webhook_suite import (
    TEMPLATES as WEBHOOK_TEMPLATES,
    WebhookRequest,
    WebhookTestConfig,
    WebhookTestTemplate,
)
from tests.conformance.test_files_conformance import OBJECTS

TOKEN = "s3cret"


class ReversedResults(FilesTarget):
    def apply(self, writes: Sequence[Write]) -> ApplyResult:
        return ApplyResult(tuple(reversed(super().apply(writes).results)))


class UnsortedLookup(FilesTarget):
    def lookup(self, requests: Sequence[LookupRequest]) -> LookupResult:
        result = super().lookup(requests)
        return {
            slot: {value: list(reversed(records)) for value, records in found.items()}
            for slot, found in result.items()
        }


class AllOrNothing(FilesTarget):
    def apply(self, writes: Sequence[Write]) -> ApplyResult:
        results = super().apply(writes).results
        if any(not result.ok for result in results):
            return ApplyResult(
                tuple(WriteResult(key=result.key, ok=False, error=result.error) for result in results)
            )
        return ApplyResult(results)


class StopsEveryBatch(FilesTarget):
    """Claims a budget stop on batches it could finish: the suite's batches are tiny."""

    def apply(self, writes: Sequence[Write]) -> ApplyResult:
        return ApplyResult(super().apply(writes).results, stopped=Stop(StopReason.BUDGET, "budget"))


class ReturnsAList(FilesTarget):
    """The pre-ApplyResult contract: a bare sequence of results."""

    def apply(self, writes: Sequence[Write]) -> ApplyResult:
        return super().apply(writes).results  # type: ignore[return-value]  # the bug under test


def _template(name: str) -> type[TargetTestTemplate]:
    return next(template for template in TEMPLATES if template.name == name)


@pytest.mark.parametrize(
    ("target_class", "template_name"),
    [
        pytest.param(ReversedResults, "results_in_request_order", id="reversed-results"),
        pytest.param(UnsortedLookup, "lookup_sorted_by_id", id="unsorted-lookup"),
        pytest.param(AllOrNothing, "bad_record_fails_alone", id="all-or-nothing"),
        pytest.param(StopsEveryBatch, "create_returns_ids", id="stops-without-cause"),
        pytest.param(ReturnsAList, "create_returns_ids", id="returns-a-list"),
    ],
)
def test_broken_target_fails_the_template(
    tmp_path: Path, target_class: type[FilesTarget], template_name: str
) -> None:
    config = TargetTestConfig(
        make_target=lambda: target_class(tmp_path / "state.json", objects=OBJECTS),
        object_name="Widget",
        external_id_field="External_Id__c",
        text_field="Description__c",
    )
    target = config.make_target()
    with pytest.raises(AssertionError):
        _template(template_name)().run(target, config)


def test_factory_builds_one_test_per_template() -> None:
    cls = get_target_test_class(
        make_target=lambda: FilesTarget(Path("unused.json")),
        object_name="Widget",
        external_id_field="External_Id__c",
        text_field="Description__c",
    )
    tests = sorted(name for name in vars(cls) if name.startswith("test_"))
    assert tests == sorted(f"test_{template.name}" for template in TEMPLATES)


# --- the source suite ---------------------------------------------------------------------

DOCUMENTS = [SourceDocument(key="a", data={"n": 1}), SourceDocument(key="b", data={"n": 2}, version=2.0)]


class IntegerKeys(MemorySource):
    def read(self) -> Iterator[SourceDocument]:
        return iter([SourceDocument(key=1, data={"n": 1})])  # type: ignore[arg-type]


class ReadsOnce(MemorySource):
    """A stream: each document is handed out once, over all ``read()`` calls."""

    handed_out = 0

    def read(self) -> Iterator[SourceDocument]:
        while self.handed_out < len(self.documents):
            self.handed_out += 1
            yield self.documents[self.handed_out - 1]


class FetchRaisesForUnknown(MemorySource):
    def fetch(self, key: str) -> SourceDocument | None:
        found = super().fetch(key)
        if found is None:
            raise KeyError(key)
        return found


class FetchGivesOtherData(MemorySource):
    def fetch(self, key: str) -> SourceDocument | None:
        return SourceDocument(key=key, data={"stale": True})


class InfiniteVersion(MemorySource):
    def read(self) -> Iterator[SourceDocument]:
        return iter([SourceDocument(key="a", data={}, version=math.inf)])


class CloseOnce(MemorySource):
    closed = False

    def close(self) -> None:
        if self.closed:
            raise RuntimeError("already closed")
        self.closed = True


def _source_template(name: str) -> type[SourceTestTemplate]:
    return next(template for template in SOURCE_TEMPLATES if template.name == name)


@pytest.mark.parametrize(
    ("source_class", "template_name", "expected"),
    [
        pytest.param(IntegerKeys, "read_yields_documents", AssertionError, id="integer-keys"),
        pytest.param(InfiniteVersion, "read_yields_documents", AssertionError, id="infinite-version"),
        pytest.param(ReadsOnce, "read_again", AssertionError, id="reads-once"),
        pytest.param(FetchRaisesForUnknown, "fetch_unknown_is_none", KeyError, id="fetch-raises"),
        pytest.param(
            FetchGivesOtherData, "fetch_returns_the_read_document", AssertionError, id="fetch-stale"
        ),
        pytest.param(CloseOnce, "close_is_idempotent", RuntimeError, id="close-once"),
    ],
)
def test_broken_source_fails_the_template(
    source_class: type[MemorySource], template_name: str, expected: type[Exception]
) -> None:
    config = SourceTestConfig(make_source=lambda: source_class(list(DOCUMENTS)))
    with pytest.raises(expected):
        _source_template(template_name)().run(config.make_source(), config)


def test_source_that_reads_nothing_fails() -> None:
    config = SourceTestConfig(make_source=MemorySource)
    with pytest.raises(AssertionError, match="no documents"):
        _source_template("read_yields_documents")().run(MemorySource(), config)


def test_check_ready_that_never_refuses_fails() -> None:
    config = SourceTestConfig(make_source=MemorySource, make_unready_source=MemorySource)
    with pytest.raises(AssertionError, match="must raise ConfigError"):
        _source_template("check_ready")().run(MemorySource(list(DOCUMENTS)), config)


def test_a_stream_may_be_read_once() -> None:
    config = SourceTestConfig(make_source=lambda: ReadsOnce(list(DOCUMENTS)), rereadable=False)
    _source_template("read_again")().run(config.make_source(), config)


# --- the webhook suite --------------------------------------------------------------------


class TokenWebhooks(SourceBase):
    """A correct webhook source: ``X-Token`` header, a JSON event ``{id, type, key, at}`` or a
    list of them."""

    name = "tokens"

    def __init__(self, token: str | None = TOKEN) -> None:
        self.token = token

    def check_receiving(self) -> None:
        if not self.token:
            raise ConfigError("no token configured", hint="set one")

    def is_enabled(self, event_type: str) -> bool:
        return event_type == "widget.updated"

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> Sequence[SourceEvent]:
        if not self.token:
            raise WebhookError("no token configured", status=503)
        if headers.get("X-Token") != self.token:
            raise WebhookError("wrong X-Token", status=401)
        try:
            document = json.loads(body)
        except (ValueError, RecursionError) as exc:
            raise WebhookError("not JSON", status=400) from exc
        items = document if isinstance(document, list) else [document]
        return [self._event(item) for item in items]

    def _event(self, item: Any) -> SourceEvent:
        if not isinstance(item, dict):
            raise WebhookError("an event must be an object", status=400)
        fields = [item.get(name) for name in ("id", "type", "key")]
        at = item.get("at")
        if not all(isinstance(value, str) and value.strip() for value in fields):
            raise WebhookError("id, type and key must be non-empty strings", status=400)
        if isinstance(at, bool) or not isinstance(at, int | float) or not math.isfinite(_float(at)):
            raise WebhookError("at must be a finite number", status=400)
        event_id, event_type, key = (str(value) for value in fields)
        return SourceEvent(id=event_id, type=event_type, entity_key=key, occurred_at=float(at), payload=item)


def _float(number: float) -> float:
    try:
        return float(number)
    except OverflowError:  # an integer beyond float
        return math.inf


class KeyErrorOnMalformed(TokenWebhooks):
    def _event(self, item: Any) -> SourceEvent:
        return SourceEvent(id=item["id"], type=item["type"], entity_key=item["key"], occurred_at=item["at"])


class DecodesBeforeChecking(TokenWebhooks):
    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> Sequence[SourceEvent]:
        body.decode("utf-8")  # UnicodeDecodeError on bytes that are not UTF-8: a 500
        return super().parse_webhook(headers, body)


class ForbiddenNotUnauthorized(TokenWebhooks):
    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> Sequence[SourceEvent]:
        try:
            return super().parse_webhook(headers, body)
        except WebhookError as exc:
            if exc.status == 401:
                raise WebhookError("forbidden", status=403) from exc
            raise


class AcceptsAnyToken(TokenWebhooks):
    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> Sequence[SourceEvent]:
        return super().parse_webhook({**headers, "X-Token": TOKEN}, body)


class FreshIdEachParse(TokenWebhooks):
    def _event(self, item: Any) -> SourceEvent:
        return dataclasses.replace(super()._event(item), id=uuid.uuid4().hex)


class StringRole(TokenWebhooks):
    def _event(self, item: Any) -> SourceEvent:
        return dataclasses.replace(super()._event(item), role="trigger")  # type: ignore[arg-type]


class EmptyOrderingKey(TokenWebhooks):
    def _event(self, item: Any) -> SourceEvent:
        return dataclasses.replace(super()._event(item), ordering_keys=("",))


class IsEnabledRaises(TokenWebhooks):
    def is_enabled(self, event_type: str) -> bool:
        return {"widget.updated": True, "widget.viewed": False}[event_type]


class ReceivesWithoutToken(TokenWebhooks):
    def check_receiving(self) -> None:
        return None


TOKEN_HEADERS = {"X-Token": TOKEN}
VALID = {"id": "e1", "type": "widget.updated", "key": "w1", "at": 1_700_000_000}


def _webhook_config(source_class: type[TokenWebhooks]) -> WebhookTestConfig:
    return WebhookTestConfig(
        make_source=source_class,
        valid=WebhookRequest.json(VALID, headers=TOKEN_HEADERS),
        batch=WebhookRequest.json([VALID, {**VALID, "id": "e2"}], headers=TOKEN_HEADERS),
        wrong_credentials=[WebhookRequest.json(VALID, headers={"X-Token": "wrong"})],
        malformed=[WebhookRequest.json({"id": "e1"}, headers=TOKEN_HEADERS)],
        enabled_types=["widget.updated"],
        disabled_types=["widget.viewed"],
        make_unconfigured_source=lambda: source_class(None),
    )


def _webhook_template(name: str) -> type[WebhookTestTemplate]:
    return next(template for template in WEBHOOK_TEMPLATES if template.name == name)


@pytest.mark.parametrize(
    ("source_class", "template_name"),
    [
        pytest.param(KeyErrorOnMalformed, "malformed_is_400", id="key-error-on-malformed"),
        pytest.param(
            KeyErrorOnMalformed, "near_misses_give_events_or_webhook_error", id="key-error-near-miss"
        ),
        pytest.param(
            DecodesBeforeChecking, "any_request_gives_events_or_webhook_error", id="decode-error-fuzz"
        ),
        pytest.param(ForbiddenNotUnauthorized, "wrong_credentials_are_401", id="403-not-401"),
        pytest.param(AcceptsAnyToken, "wrong_credentials_are_401", id="accepts-any-token"),
        pytest.param(FreshIdEachParse, "same_request_same_events", id="fresh-ids"),
        pytest.param(StringRole, "valid_request_gives_one_event", id="string-role"),
        pytest.param(EmptyOrderingKey, "batch_gives_every_event", id="empty-ordering-key"),
        pytest.param(IsEnabledRaises, "is_enabled_answers_bool", id="is-enabled-raises"),
        pytest.param(ReceivesWithoutToken, "check_receiving", id="receives-without-token"),
    ],
)
def test_broken_webhook_source_fails_the_template(
    source_class: type[TokenWebhooks], template_name: str
) -> None:
    config = _webhook_config(source_class)
    with pytest.raises(AssertionError):
        _webhook_template(template_name)().run(source_class(), config)


TestTokenWebhooksPassTheSuite = get_webhook_source_test_class(
    make_source=TokenWebhooks,
    valid=WebhookRequest.json(VALID, headers=TOKEN_HEADERS),
    batch=WebhookRequest.json([VALID, {**VALID, "id": "e2"}], headers=TOKEN_HEADERS),
    wrong_credentials=[WebhookRequest.json(VALID, headers={"X-Token": "wrong"})],
    malformed=[WebhookRequest(b"[", headers=TOKEN_HEADERS)],
    enabled_types=["widget.updated"],
    disabled_types=["widget.viewed"],
    make_unconfigured_source=lambda: TokenWebhooks(None),
    class_name="TestTokenWebhooksPassTheSuite",
)


@pytest.mark.parametrize(
    ("factory", "templates"),
    [
        pytest.param(lambda: get_source_test_class(make_source=MemorySource), SOURCE_TEMPLATES, id="source"),
        pytest.param(
            lambda: get_webhook_source_test_class(
                make_source=TokenWebhooks,
                valid=WebhookRequest(b"{}"),
                wrong_credentials=[],
                malformed=[],
            ),
            WEBHOOK_TEMPLATES,
            id="webhook",
        ),
    ],
)
def test_factories_build_one_test_per_template(
    factory: Callable[[], type], templates: Sequence[type[Any]]
) -> None:
    tests = sorted(name for name in vars(factory()) if name.startswith("test_"))
    assert tests == sorted(f"test_{template.name}" for template in templates)
