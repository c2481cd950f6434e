"""Webhook parsing: envelopes, batches, the shared secret in each place, malformed bodies."""

from __future__ import annotations

import hmac
import json
from typing import Any

import pytest
from hypothesis import given, strategies as st

from fieldline.adapters.passfort.settings import PassFortSettings
from fieldline.adapters.passfort.source import PassFortSource
from fieldline.adapters.passfort.webhooks import bearer_token, parse_webhook_body
from fieldline.config import Secret
from fieldline.contracts import EventRole
from fieldline.errors import WebhookError
from tests.passfort.conftest import SECRET

# The documented PRODUCT_STATUS_CHANGED sample, verbatim but for the secret.
SAMPLE: dict[str, Any] = {
    "id": "33bae6b8-5689-b96b-143c-06e93ab8527e",
    "event": "PRODUCT_STATUS_CHANGED",
    "secret": SECRET,
    "timestamp": 1568997222,
    "data": {
        "apikey": {"name": "KEY_NAME"},
        "application_id": "b0ce7c17-2cab-86e7-9a83-ebee0d4d5dc8",
        "customer_ref": None,
        "new_status": "CANCELLED",
        "product": {
            "alias": "forexo_basic",
            "id": "edc23993-eb6a-9d89-bb79-5b8925b33224",
            "name": "Forexo Basic Account",
        },
        "profile_id": "a2c4393a-e219-67a4-5ab4-2186952e9038",
        "user": {
            "email": "morgan.rose@forexo.com",
            "id": "ec1565b6-82c7-0577-8b3a-94462b67c97a",
            "name": "Morgan Rose",
        },
    },
}
BEARER = {"Authorization": f"Bearer {SECRET}"}
NOW = 1_800_000_000.0  # the parser's clock in these tests: after every sample timestamp


def envelope(number: int = 1, event: str = "PRODUCT_STATUS_CHANGED", **changes: Any) -> dict[str, Any]:
    item: dict[str, Any] = json.loads(json.dumps(SAMPLE))
    item["id"] = f"event-{number}"
    item["event"] = event
    item["data"]["profile_id"] = f"profile-{number}"
    item.update(changes)
    return item


def parse(body: Any, headers: dict[str, str] | None = None) -> list[Any]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return parse_webhook_body(headers or {}, raw, secret=Secret(SECRET), clock=lambda: NOW)


def test_documented_sample_becomes_one_event() -> None:
    (event,) = parse(SAMPLE, BEARER)
    assert event.id == SAMPLE["id"]
    assert event.type == "PRODUCT_STATUS_CHANGED"
    assert event.entity_key == "a2c4393a-e219-67a4-5ab4-2186952e9038"
    assert event.occurred_at == 1568997222.0
    assert event.payload == SAMPLE["data"]
    assert "secret" not in event.payload
    assert event.role is EventRole.TRIGGER, "the profile is fetched: a webhook is only a trigger"
    assert event.ordering_keys == (
        "profile:a2c4393a-e219-67a4-5ab4-2186952e9038",
        "application:b0ce7c17-2cab-86e7-9a83-ebee0d4d5dc8",
    )


def test_an_event_without_an_application_is_ordered_by_its_profile_alone() -> None:
    body = json.loads(json.dumps(SAMPLE))
    del body["data"]["application_id"]
    (event,) = parse(body, BEARER)
    assert event.ordering_keys == ("profile:a2c4393a-e219-67a4-5ab4-2186952e9038",)


def test_batch_list_keeps_delivery_order() -> None:
    body = [envelope(number) for number in (3, 1, 2)]
    events = parse(body, BEARER)
    assert [event.id for event in events] == ["event-3", "event-1", "event-2"]
    assert [event.entity_key for event in events] == ["profile-3", "profile-1", "profile-2"]


def test_events_wrapper_is_accepted() -> None:
    events = parse({"events": [envelope(1), envelope(2)]}, BEARER)
    assert [event.id for event in events] == ["event-1", "event-2"]


def test_empty_batch_with_bearer_is_no_events() -> None:
    assert parse([], BEARER) == []


@pytest.mark.parametrize(
    ("headers", "body_secret"),
    [
        pytest.param(BEARER, SECRET, id="both"),
        pytest.param(BEARER, None, id="header-only"),
        pytest.param({}, SECRET, id="body-only"),
        pytest.param({"authorization": f"bearer {SECRET}"}, None, id="header-any-case"),
    ],
)
def test_either_place_suffices(headers: dict[str, str], body_secret: str | None) -> None:
    item = envelope()
    if body_secret is None:
        del item["secret"]
    assert len(parse(item, headers)) == 1


@pytest.mark.parametrize(
    ("headers", "body_secret"),
    [
        pytest.param({"Authorization": "Bearer wrong"}, SECRET, id="wrong-header-right-body"),
        pytest.param(BEARER, "wrong", id="right-header-wrong-body"),
        pytest.param({}, "wrong", id="wrong-body-only"),
        pytest.param({"Authorization": "Bearer wrong"}, None, id="wrong-header-only"),
        pytest.param({}, None, id="none"),
        pytest.param({"Authorization": f"Basic {SECRET}"}, None, id="other-scheme-is-none"),
        pytest.param(BEARER, 12345, id="non-string-body-secret"),
        pytest.param({"Authorization": "Bearer "}, None, id="empty-bearer"),
    ],
)
def test_missing_or_wrong_secret_is_401(headers: dict[str, str], body_secret: Any) -> None:
    item = envelope()
    if body_secret is None:
        del item["secret"]
    else:
        item["secret"] = body_secret
    with pytest.raises(WebhookError) as caught:
        parse(item, headers)
    assert caught.value.status == 401
    assert SECRET not in str(caught.value)


def test_one_wrong_secret_in_a_batch_refuses_the_request() -> None:
    body = [envelope(1), envelope(2, secret="nope"), envelope(3)]
    with pytest.raises(WebhookError, match=r"\$\[1\]\.secret") as caught:
        parse(body, BEARER)
    assert caught.value.status == 401


def test_batch_without_header_needs_every_body_secret() -> None:
    second = envelope(2)
    del second["secret"]
    with pytest.raises(WebhookError) as caught:
        parse([envelope(1), second])
    assert caught.value.status == 401


def test_unauthenticated_malformed_envelope_is_401_not_400() -> None:
    with pytest.raises(WebhookError) as caught:
        parse({"event": "X"})
    assert caught.value.status == 401


def test_secret_is_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []
    original = hmac.compare_digest

    def spy(given: bytes, expected: bytes) -> bool:
        calls.append((given, expected))
        return original(given, expected)

    monkeypatch.setattr(hmac, "compare_digest", spy)  # the module webhooks.py calls through
    parse(envelope(), BEARER)
    assert calls == [(SECRET.encode(), SECRET.encode())] * 2  # header, then body


def test_non_ascii_secret_does_not_crash() -> None:
    with pytest.raises(WebhookError) as caught:
        parse(envelope(secret="sécret ☃"), {"Authorization": "Bearer ✓"})
    assert caught.value.status == 401


def test_no_configured_secret_refuses_with_503() -> None:
    with pytest.raises(WebhookError, match="not configured") as caught:
        parse_webhook_body(BEARER, json.dumps(SAMPLE).encode(), secret=None)
    assert caught.value.status == 503


@pytest.mark.parametrize(
    ("body", "path"),
    [
        pytest.param(b"{not json", "$", id="not-json"),
        pytest.param(b"\xff\xfe\x00", "$", id="not-utf8"),
        pytest.param(b'{"id": NaN}', "$", id="nan-literal"),
        pytest.param(b'"a string"', "$", id="scalar"),
        pytest.param([envelope(), 7], "$[1]", id="batch-item-not-object"),
    ],
)
def test_malformed_body_is_400(body: Any, path: str) -> None:
    with pytest.raises(WebhookError) as caught:
        parse(body, BEARER)
    assert caught.value.status == 400
    assert caught.value.context["json_path"] == path


@pytest.mark.parametrize(
    ("mutate", "path"),
    [
        pytest.param(lambda e: e.pop("id"), "$.id", id="no-id"),
        pytest.param(lambda e: e.update(id=""), "$.id", id="empty-id"),
        pytest.param(lambda e: e.update(id=5), "$.id", id="numeric-id"),
        pytest.param(lambda e: e.pop("event"), "$.event", id="no-event"),
        pytest.param(lambda e: e.pop("data"), "$.data", id="no-data"),
        pytest.param(lambda e: e.update(data=[1]), "$.data", id="data-list"),
        pytest.param(lambda e: e["data"].pop("profile_id"), "$.data.profile_id", id="no-profile-id"),
        pytest.param(lambda e: e.update(timestamp=True), "$.timestamp", id="bool-timestamp"),
        pytest.param(lambda e: e.update(timestamp="soon"), "$.timestamp", id="text-timestamp"),
        pytest.param(lambda e: e.update(timestamp=10**400), "$.timestamp", id="huge-timestamp"),
        pytest.param(lambda e: e.update(timestamp="nan"), "$.timestamp", id="nan-timestamp"),
        pytest.param(lambda e: e.update(timestamp="inf"), "$.timestamp", id="inf-timestamp"),
        pytest.param(lambda e: e.update(timestamp="1e400"), "$.timestamp", id="overflow-text-timestamp"),
    ],
)
def test_missing_fields_are_400_naming_the_path(mutate: Any, path: str) -> None:
    item = envelope()
    mutate(item)
    with pytest.raises(WebhookError) as caught:
        parse(item, BEARER)
    assert caught.value.status == 400
    assert caught.value.context["json_path"] == path
    assert path in str(caught.value)


def test_batch_error_names_the_item() -> None:
    broken = envelope(2)
    del broken["data"]["profile_id"]
    with pytest.raises(WebhookError) as caught:
        parse([envelope(1), broken], BEARER)
    assert caught.value.context["json_path"] == "$[1].data.profile_id"


@pytest.mark.parametrize(
    ("timestamp", "expected"),
    [
        pytest.param(1568997222.5, 1568997222.5, id="float"),
        pytest.param("1568997222", 1568997222.0, id="numeric-text"),
        pytest.param("2019-09-20T16:33:42Z", 1568997222.0, id="iso"),
        pytest.param("2019-09-20T16:33:42", 1568997222.0, id="naive-iso-is-utc"),
        pytest.param(None, NOW, id="absent-is-receipt-time"),
        pytest.param(NOW + 5, NOW, id="skewed-future-is-receipt-time"),
        pytest.param(1e308, NOW, id="far-future-is-receipt-time"),
        pytest.param(1795947600000, NOW, id="milliseconds-is-receipt-time"),
    ],
)
def test_timestamp_forms(timestamp: Any, expected: float) -> None:
    item = envelope()
    if timestamp is None:
        del item["timestamp"]
    else:
        item["timestamp"] = timestamp
    (event,) = parse(item, BEARER)
    assert event.occurred_at == expected


def test_unknown_events_are_returned_but_not_enabled(settings: PassFortSettings) -> None:
    source = PassFortSource(settings)
    try:
        body = [envelope(1), envelope(2, "SOMETHING_NEW"), envelope(3, "PRODUCT_FLAG_CHANGED")]
        events = source.parse_webhook(BEARER, json.dumps(body).encode())
        assert [event.type for event in events] == [
            "PRODUCT_STATUS_CHANGED",
            "SOMETHING_NEW",
            "PRODUCT_FLAG_CHANGED",
        ]
        assert [source.is_enabled(event.type) for event in events] == [True, False, True]
    finally:
        source.close()


def test_enabled_events_come_from_options(settings: PassFortSettings) -> None:
    source = PassFortSource(settings, events=["COLLECTED_DATA_CHANGED", "product_badge_changed"])
    try:
        assert source.is_enabled("COLLECTED_DATA_CHANGED")
        assert source.is_enabled("PRODUCT_FLAG_CHANGED")  # alias of the badge event
        assert not source.is_enabled("PRODUCT_STATUS_CHANGED")
    finally:
        source.close()


def test_bearer_token_parsing() -> None:
    assert bearer_token({"AUTHORIZATION": "Bearer  abc "}) == "abc"
    assert bearer_token({"authorization": "Token abc"}) is None
    assert bearer_token({}) is None


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
ENVELOPE_LIKE = st.fixed_dictionaries(
    {},
    optional={
        "id": JSON | st.text(max_size=8),
        "event": JSON | st.sampled_from(["PRODUCT_STATUS_CHANGED", "X"]),
        "secret": st.sampled_from([SECRET, "wrong"]) | JSON,
        "timestamp": JSON,
        "data": st.fixed_dictionaries({}, optional={"profile_id": JSON | st.text(max_size=8)}) | JSON,
    },
)
HEADERS = st.sampled_from([{}, BEARER, {"Authorization": "Bearer wrong"}, {"Authorization": "garbage"}])


def _outcome(headers: dict[str, str], body: bytes) -> None:
    refused: WebhookError | None = None
    events = []
    try:
        events = parse_webhook_body(headers, body, secret=Secret(SECRET))
    except WebhookError as error:
        refused = error
    if refused is not None:
        assert refused.status in (400, 401)
    else:
        for event in events:
            assert isinstance(event.id, str)
            assert isinstance(event.entity_key, str)
            assert event.entity_key
            assert isinstance(event.occurred_at, float)


@given(headers=HEADERS, body=st.binary(max_size=200))
def test_arbitrary_bytes_give_events_or_webhook_error(headers: dict[str, str], body: bytes) -> None:
    _outcome(headers, body)


@given(headers=HEADERS, document=ENVELOPE_LIKE | st.lists(ENVELOPE_LIKE, max_size=3) | JSON)
def test_arbitrary_json_gives_events_or_webhook_error(headers: dict[str, str], document: Any) -> None:
    _outcome(headers, json.dumps(document).encode())


@given(st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.integers(-(10**30), 10**30)))
def test_an_event_is_never_later_than_its_receipt(timestamp: float) -> None:
    item = envelope()
    item["timestamp"] = timestamp
    (event,) = parse(item, BEARER)
    assert event.occurred_at == min(float(timestamp), NOW)


def test_a_far_future_timestamp_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    item = envelope()
    item["timestamp"] = NOW + 3600
    with caplog.at_level("WARNING", logger="fieldline.adapters.passfort.webhooks"):
        (event,) = parse(item, BEARER)
    assert event.occurred_at == NOW
    assert "$.timestamp" in caplog.text
    assert "using the receipt time" in caplog.text


# --- hostile input (issue 9): every case below was accepted, or crashed, before ---------------


def raw_envelope(item: dict[str, Any] | None = None, /, **replace: str) -> bytes:
    """An envelope as JSON text, with raw JSON text for chosen values (escapes kept)."""
    text = json.dumps(envelope() if item is None else item)
    for placeholder, raw in replace.items():
        text = text.replace(json.dumps(placeholder), raw)
    return text.encode()


@pytest.mark.parametrize(
    ("body", "path"),
    [
        pytest.param(raw_envelope(**{"event-1": '"x\\ud800"'}), "$.id", id="id"),
        pytest.param(raw_envelope(PRODUCT_STATUS_CHANGED='"P\\udfff"'), "$.event", id="event"),
        pytest.param(raw_envelope(**{"profile-1": '"p\\ud800"'}), "$.data.profile_id", id="profile_id"),
        pytest.param(raw_envelope(CANCELLED='"\\ud83d"'), "$.data.new_status", id="payload-value"),
        pytest.param(raw_envelope(CANCELLED='{"\\udc00": 1}'), "$.data.new_status (a key)", id="payload-key"),
    ],
)
def test_a_lone_surrogate_is_400_naming_the_path(body: bytes, path: str) -> None:
    with pytest.raises(WebhookError) as caught:
        parse(body, BEARER)
    assert caught.value.status == 400
    assert caught.value.context["json_path"] == path
    assert "not valid Unicode text" in str(caught.value)


@pytest.mark.parametrize("depth", [33, 600, 950, 5000])
def test_deep_nesting_is_400_without_recursion(depth: int) -> None:
    item = envelope()
    item["data"]["extra"] = "HOLE"
    body = raw_envelope(item, HOLE="[" * depth + "]" * depth)
    with pytest.raises(WebhookError) as caught:
        parse(body, BEARER)
    assert caught.value.status == 400
    assert "nests deeper than 32 levels" in str(caught.value)


def test_nesting_up_to_the_limit_is_accepted() -> None:
    item = envelope()
    item["data"]["extra"] = json.loads("[" * 29 + "]" * 29)  # $ -> data -> extra -> 29 lists
    (event,) = parse(item, BEARER)
    assert event.id == "event-1"


def test_two_authorization_headers_are_ambiguous() -> None:
    from starlette.datastructures import Headers

    headers = Headers(raw=[(b"authorization", f"Bearer {SECRET}".encode()), (b"authorization", b"Bearer x")])
    with pytest.raises(WebhookError) as caught:
        parse(envelope(), headers)  # type: ignore[arg-type]
    assert caught.value.status == 401
    assert "2 Authorization headers" in str(caught.value)


def test_a_secret_key_given_twice_is_ambiguous() -> None:
    item = envelope()
    del item["secret"]
    body = json.dumps(item)[:-1] + ', "secret": "wrong", "secret": ' + json.dumps(SECRET) + "}"
    with pytest.raises(WebhookError) as caught:
        parse(body.encode())
    assert caught.value.status == 401
    assert '"secret" key twice' in str(caught.value)


def test_other_duplicate_keys_are_400_once_authenticated() -> None:
    body = json.dumps(envelope())[:-1] + ', "id": "event-2"}'
    with pytest.raises(WebhookError) as caught:
        parse(body.encode(), BEARER)
    assert caught.value.status == 400
    assert "repeats the key 'id'" in str(caught.value)


@pytest.mark.parametrize(
    ("mutate", "path", "problem"),
    [
        pytest.param(lambda item: item.update(id="e" * 2_000_000), "$.id", "2000000 characters", id="2MB-id"),
        pytest.param(
            lambda item: item["data"].update(profile_id="p" * 1_000_000),
            "$.data.profile_id",
            "1000000 characters",
            id="1MB-profile",
        ),
        pytest.param(lambda item: item.update(event="E" * 256), "$.event", "256 characters", id="event"),
        pytest.param(
            lambda item: item["data"].update(application_id="a" * 300),
            "$.data.application_id",
            "300 characters",
            id="application",
        ),
        pytest.param(lambda item: item.update(id="e\n1"), "$.id", "unprintable", id="newline"),
        pytest.param(
            lambda item: item["data"].update(profile_id="p\x00"), "$.data.profile_id", "unprintable", id="nul"
        ),
    ],
)
def test_ids_are_bounded_at_intake(mutate: Any, path: str, problem: str) -> None:
    item = envelope()
    mutate(item)
    with pytest.raises(WebhookError) as caught:
        parse(item, BEARER)
    assert caught.value.status == 400
    assert caught.value.context["json_path"] == path
    assert problem in str(caught.value)


def test_an_id_of_255_printable_characters_is_accepted() -> None:
    (event,) = parse(envelope(id="é" * 255), BEARER)
    assert len(event.id) == 255


# --- the fast paths give the answers of the exact checks ---------------------------------------


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    return 0


BRACKETY_TEXT = st.text(alphabet='[]{}"\\:ab ', max_size=6)
NESTED = st.recursive(
    st.none() | st.integers() | BRACKETY_TEXT,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(BRACKETY_TEXT, children, max_size=3),
    max_leaves=40,
)


def _chain(kinds: list[bool], leaf: Any) -> Any:
    value = leaf
    for is_list in reversed(kinds):
        value = [value] if is_list else {"k": value}
    return value


@given(
    kinds=st.lists(st.booleans(), min_size=20, max_size=40),
    leaf=BRACKETY_TEXT,
    decoys=st.lists(BRACKETY_TEXT, max_size=3),
    spaced=st.booleans(),
)
def test_the_nesting_check_is_exact_whatever_the_strings_hold(
    kinds: list[bool], leaf: str, decoys: list[str], spaced: bool
) -> None:
    """Strings holding brackets, quotes or backslashes cannot make a deep body look shallow
    (nor a shallow one deep): the body's outline is used only when it is the structure."""
    from fieldline.adapters.passfort.webhooks import MAX_DEPTH, _Document

    document = {"decoys": decoys, "deep": _chain(kinds, leaf)}
    body = json.dumps(document, indent=1 if spaced else None).encode()
    assert _Document(body).shallow is (_depth(document) <= MAX_DEPTH)


@given(document=NESTED, spaced=st.booleans())
def test_the_nesting_check_agrees_with_the_structure(document: Any, spaced: bool) -> None:
    from fieldline.adapters.passfort.webhooks import MAX_DEPTH, _Document

    body = json.dumps(document, indent=1 if spaced else None).encode()
    assert _Document(body).shallow is (_depth(document) <= MAX_DEPTH)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param('{"a": 1, "a": 2}', id="repeated"),
        pytest.param('{"a" : 1, "a"\n: 2}', id="spaced-colons"),
        pytest.param('{"u:": "x:y", "a": 1, "a": 2}', id="colons-in-strings"),
        pytest.param('[{"a": {"b": 1, "b": 1}}]', id="nested"),
        pytest.param('{"a\\"": 1, "a\\"": 2}', id="escaped-quote"),
    ],
)
def test_repeated_keys_are_found_whatever_the_colons(text: str) -> None:
    from fieldline.adapters.passfort.webhooks import _Document

    assert _Document(text.encode()).duplicates


@given(document=NESTED)
def test_no_repeated_key_is_reported_where_there_is_none(document: Any) -> None:
    from fieldline.adapters.passfort.webhooks import _Document

    assert _Document(json.dumps(document).encode()).duplicates == []


ID_LIKE = st.one_of(
    st.text(max_size=4),
    st.sampled_from(["", " ", "\t", "a b", "x" * 255, "x" * 256, "é" * 255, "a\n", "\x00", "\u00a0"]),
    st.none(),
    st.integers(),
)
TIME_LIKE = st.one_of(
    st.none(),
    st.integers(-(10**400), 10**400),
    st.floats(),
    st.sampled_from(["2019-09-20T16:33:42Z", "2019-09-20 16:33:42", "soon", NOW + 300, NOW + 301, True]),
)


@given(
    event_id=ID_LIKE,
    event_type=ID_LIKE,
    profile_id=ID_LIKE,
    application_id=ID_LIKE,
    timestamp=TIME_LIKE,
    data_is_object=st.booleans(),
)
def test_the_plain_envelope_path_gives_the_checked_answer(
    *,
    event_id: Any,
    event_type: Any,
    profile_id: Any,
    application_id: Any,
    timestamp: Any,
    data_is_object: bool,
) -> None:
    """An envelope the fast path takes becomes the event the one-by-one checks build; any
    envelope they would refuse or treat specially (a warning), it leaves to them."""
    from fieldline.adapters.passfort.webhooks import _checked_event, _plain_event

    data = {"profile_id": profile_id, "application_id": application_id} if data_is_object else [profile_id]
    item = {"id": event_id, "event": event_type, "timestamp": timestamp, "data": data}
    fast = _plain_event(item, NOW)
    try:
        checked = _checked_event(item, "$", NOW)
    except WebhookError:
        assert fast is None
        return
    if fast is not None:
        assert fast == checked
        assert type(fast.occurred_at) is float


def test_an_ordinary_envelope_takes_the_plain_path() -> None:
    from fieldline.adapters.passfort.webhooks import _checked_event, _plain_event

    item = envelope()
    assert _plain_event(item, NOW) == _checked_event(item, "$", NOW)
    assert _plain_event(item, NOW) is not None
