"""Parse and verify PassFort webhook requests.

PassFort sends a shared secret twice: ``Authorization: Bearer <secret>`` and a top-level
``"secret"`` in each JSON envelope. There is no HMAC signature. Either place suffices when it
matches; any secret that is present but wrong refuses the whole request; a request with no
secret at all is refused too. Comparisons are constant-time (:func:`hmac.compare_digest`).

A body is one envelope (``{"id", "event", "secret", "timestamp", "data"}``) or a batch. The
batched format is unconfirmed by PassFort's docs, so two shapes are accepted: a JSON list of
envelopes (the likely one) and an object whose ``events`` key holds that list (the usual
wrapper of other batching webhook senders). They cannot be confused with one envelope, which
always has ``event`` and ``data``.

Ambiguous credentials are refused (401): two ``Authorization`` headers, or a ``"secret"`` key
given twice in one JSON object (a JSON parser keeps only the last one, so the one checked would
not be the only one present).

Order of checks: a bearer header must be single and right (401), the JSON must parse (400),
every envelope must be authenticated (401), then the body must be storable text (400: no lone
surrogates, nesting at most :data:`MAX_DEPTH` levels, no duplicate keys) and every envelope
well formed (400, naming the JSON path): ids at most :data:`MAX_ID_LENGTH` printable characters.
So an unauthenticated sender learns nothing about what a valid envelope looks like.
"""

from __future__ import annotations

import dataclasses
import hmac
import json
import logging
import math
import re
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, NotRequired, TypedDict

from fieldline.config import Secret
from fieldline.contracts import EventRole, SourceEvent
from fieldline.errors import WebhookError

__all__ = ["WebhookData", "WebhookEnvelope", "bearer_token", "ordering_keys", "parse_webhook_body"]

log = logging.getLogger(__name__)

# A timestamp this far past the receipt time is worth a warning (beyond ordinary clock skew).
FUTURE_WARNING_SECONDS = 300.0

SECRET_HINT = "check the webhook secret in PassFort matches FIELDLINE_PASSFORT_WEBHOOK_SECRET"

# PassFort's envelopes nest about four levels (``data.product.id``); far deeper is hostile.
MAX_DEPTH = 32
# PassFort ids are UUIDs (36 characters); the bound keeps request URLs and storage sane.
MAX_ID_LENGTH = 255


class WebhookData(TypedDict, total=False):
    """``data`` of an envelope: confirmed keys; event-specific keys vary (unconfirmed)."""

    apikey: Mapping[str, Any]
    customer_ref: str | None
    profile_id: str
    application_id: str
    new_status: str
    product: Mapping[str, Any]
    user: Mapping[str, Any] | None


class WebhookEnvelope(TypedDict):
    """One PassFort webhook as delivered (documented envelope)."""

    id: str
    event: str
    timestamp: int
    data: WebhookData
    secret: NotRequired[str]


def bearer_token(headers: Mapping[str, str]) -> str | None:
    """The token of an ``Authorization: Bearer ...`` header (any letter case), else ``None``.

    Another scheme (``Basic ...``) counts as no bearer token; an empty token counts as given.
    More than one ``Authorization`` header is ambiguous: :class:`WebhookError` 401.
    """
    values = _header_values(headers, "authorization")
    if len(values) > 1:
        raise WebhookError(
            f"webhook request has {len(values)} Authorization headers; send exactly one",
            status=401,
            hint=SECRET_HINT,
        )
    if not values:
        return None
    scheme, _, token = values[0].strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip()


def _header_values(headers: Mapping[str, str], name: str) -> list[str]:
    # Starlette's Headers keep repeated headers: items() yields each one, getlist() too.
    getlist = getattr(headers, "getlist", None)
    if callable(getlist):
        return [str(value) for value in getlist(name)]
    return [value for key, value in headers.items() if key.lower() == name]


def _matches(given: object, expected: bytes) -> bool:
    if not isinstance(given, str):
        return False
    # compare_digest on str rejects non-ASCII; bytes keep it constant-time for any input.
    return hmac.compare_digest(given.encode("utf-8", "surrogatepass"), expected)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


class _Document:
    """A parsed body, the keys JSON objects in it repeated (the parser keeps the last), and
    whether its nesting stays within :data:`MAX_DEPTH`.

    Duplicates are looked for only when the body has more key tokens (``"...":``) than the
    parsed objects have keys: with no repeated key the two counts are equal, so the common body
    is parsed once by the C decoder, which tells each object's size to a one-line hook. The
    colons of the body bound its key tokens from above, so when they are as many as the keys
    the exact count is not needed (a one-byte count is several times cheaper than counting
    ``":`` and spaced keys). Nesting is read from the body's outline of brackets when its
    strings hold no bracket and it has no backslash (:func:`_outline_within`), else walked.
    """

    __slots__ = ("duplicates", "shallow", "value")

    def __init__(self, body: bytes) -> None:
        self.duplicates: list[str] = []
        sizes: list[int] = []
        self.value: Any = self._parse(body, object_hook=_sizes_hook(sizes.append))
        keys = sum(sizes)
        outline = _outline(body)
        # Every key token ends in a colon; a colon inside a string only counts too many.
        colons = (outline if outline is not None else body).count(b":")
        self.shallow = (outline is not None and _outline_within(outline, MAX_DEPTH)) or _nesting_within(
            self.value, MAX_DEPTH
        )
        if colons > keys and _key_tokens(body) != keys:
            self._parse(body, object_pairs_hook=self._object)  # to name the repeated keys (or a false alarm)

    @staticmethod
    def _parse(
        body: bytes,
        *,
        object_hook: Callable[[dict[str, Any]], Any] | None = None,
        object_pairs_hook: Callable[[list[tuple[str, Any]]], Any] | None = None,
    ) -> Any:
        try:
            return json.loads(
                body,
                parse_constant=_reject_constant,
                object_hook=object_hook,
                object_pairs_hook=object_pairs_hook,
            )
        except RecursionError as exc:  # nesting deeper than the interpreter's recursion limit
            raise _too_deep("$") from exc
        except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
            raise WebhookError(
                "webhook body is not valid JSON",
                status=400,
                hint="PassFort sends a JSON object (one event) or a JSON list (a batch)",
                json_path="$",
            ) from exc

    def _object(self, pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        result = dict(pairs)
        if len(result) != len(pairs):
            seen: set[str] = set()
            for key, _ in pairs:
                if key in seen:
                    self.duplicates.append(key)
                seen.add(key)
        return result


def _sizes_hook(record: Callable[[int], None]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def hook(value: dict[str, Any]) -> dict[str, Any]:
        record(len(value))
        return value

    return hook


# A key token with white space before its colon (json.dumps writes none); counted on its own.
_SPACED_KEY = re.compile(rb'"[ \t\r\n]+:')


def _key_tokens(body: bytes) -> int:
    return body.count(b'":') + len(_SPACED_KEY.findall(body))


# translate() deletes these: every byte but brackets, quotes and colons.
_NOT_OUTLINE = bytes(set(range(256)) - set(b'{}[]":'))


def _outline(body: bytes) -> bytes | None:
    """The body's brackets, quotes and colons in order; ``None`` when it holds a backslash
    (an escaped quote would then not delimit a string)."""
    if b"\\" in body:
        return None
    return body.translate(None, _NOT_OUTLINE)


def _outline_within(outline: bytes, limit: int) -> bool:
    """True when the containers of a body with this :func:`_outline` surely nest at most
    ``limit`` levels; False when the outline cannot tell (then the parsed document is walked).

    Without a backslash, quotes delimit strings and nothing else. Dropping the colons, then
    deleting adjacent quote pairs, removes every string holding no bracket; a quote left means
    some string held one (a run of quotes between brackets then has odd length), and the
    outline would not be the structure. Otherwise what is left is exactly the containers'
    brackets. A pass deleting the empty pairs ``[]`` then ``{}`` removes at least one level and
    at most two (``{[]}``), so an outline gone within ``limit // 2`` passes nests at most
    ``limit`` levels; a deeper one (or one needing more passes) is walked.
    """
    brackets = outline.translate(None, b":").replace(b'""', b"")
    if b'"' in brackets:
        return False
    for _ in range(limit // 2):
        if not brackets:
            return True
        brackets = brackets.replace(b"[]", b"").replace(b"{}", b"")
    return not brackets


def _nesting_within(document: Any, limit: int) -> bool:
    """Whether no container of a document as ``json.loads`` builds it (exact ``dict``/``list``)
    is nested ``limit`` levels deep; level by level, containers only."""
    level = [document] if type(document) in (dict, list) else []
    depth = 0
    while level:
        deeper: list[Any] = []
        append = deeper.append
        for container in level:
            for child in container.values() if type(container) is dict else container:
                kind = type(child)
                if kind is dict or kind is list:
                    append(child)
        level = deeper
        depth += 1
        if depth > limit:
            return False
    return True


def _too_deep(path: str) -> WebhookError:
    return WebhookError(
        f"webhook body nests deeper than {MAX_DEPTH} levels at {path}",
        status=400,
        json_path=path,
        hint="a PassFort webhook nests a few levels; this body is not one",
    )


def _check_text(document: Any, body: bytes, *, shallow: bool) -> None:
    """400 unless every string (key or value) is valid Unicode text and nesting is bounded.

    A lone surrogate (``"\\ud800"``) parses as JSON but cannot be encoded as UTF-8, so it cannot
    be stored; refusing it here keeps it from ever reaching the queue. Walks with a stack, not
    recursion, so depth is checked before anything recurses over the document.

    The common body can hold no surrogate at all (no ``\\uD8..`` escape, no raw surrogate
    bytes) and is shallow: then only the containers are counted, which costs a small fraction of
    walking every string with its path (that walk runs only to locate a problem).
    """
    if shallow and not _maybe_surrogate(body):
        return
    stack: list[tuple[str, Any, int]] = [("$", document, 0)]
    while stack:
        path, value, depth = stack.pop()
        if isinstance(value, str):
            _require_utf8(value, path)
        elif isinstance(value, dict | list):
            if depth >= MAX_DEPTH:
                raise _too_deep(path)
            if isinstance(value, dict):
                for key, child in value.items():
                    _require_utf8(key, f"{path} (a key)")
                    stack.append((_member(path, key), child, depth + 1))
            else:
                stack.extend((f"{path}[{index}]", child, depth + 1) for index, child in enumerate(value))


# A JSON escape of a surrogate half, or one UTF-8-encoded (json.loads decodes with surrogatepass).
_MAYBE_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]|\xed[\xa0-\xbf]")


def _maybe_surrogate(body: bytes) -> bool:
    # Most bodies have no backslash and no 0xED byte at all: two one-byte scans (memchr) say
    # so; a two-byte search such as b"\\u" costs some fifty times more.
    return (b"\\" in body or b"\xed" in body) and _MAYBE_SURROGATE.search(body) is not None


def _member(path: str, key: str) -> str:
    if key.isidentifier() and len(key) <= 64:
        return f"{path}.{key}"
    return f"{path}[{json.dumps(key[:64])}]"  # quoted and escaped: safe in a log line


def _require_utf8(text: str, path: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise WebhookError(
            f"webhook {path} is not valid Unicode text (a lone surrogate escape such as \\ud800)",
            status=400,
            json_path=path,
            hint="send text as UTF-8; a \\uXXXX escape of half a surrogate pair is not a character",
        ) from None


def _envelopes(document: Any) -> tuple[list[Any], Callable[[int], str], Any]:
    """``(envelopes, json path of envelope i, wrapper secret)`` for a single, list or wrapped
    body; paths are made only for an error message."""
    if isinstance(document, list):
        return document, "$[{}]".format, None
    if isinstance(document, dict):
        if "event" not in document and isinstance(document.get("events"), list):
            return document["events"], "$.events[{}]".format, document.get("secret")
        return [document], lambda _index: "$", None
    raise WebhookError(
        f"webhook body must be a JSON object or list, got {type(document).__name__}",
        status=400,
        json_path="$",
    )


def _occurred_at(raw: Any, path: str, received_at: float) -> float:
    """The event's time for ordering: its ``timestamp``, never later than its receipt.

    An event cannot have happened after it arrived. A later timestamp (a skewed clock, a value in
    milliseconds, a bogus one) would otherwise become the profile's newest applied time and make
    every genuine event after it look stale; clamped to the receipt time, ordering stays safe,
    because the worker fetches the profile after that moment anyway.
    """
    if raw is None:
        return received_at
    value = _timestamp_seconds(raw, path)
    if value > received_at + FUTURE_WARNING_SECONDS:
        log.warning(
            "webhook %s.timestamp %r is %.0f s after its receipt; using the receipt time",
            path,
            raw,
            value - received_at,
        )
    return min(value, received_at)


def _timestamp_seconds(raw: Any, path: str) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise _malformed(f"{path}.timestamp", "must be Unix seconds (a number)")
    if isinstance(raw, str):
        try:
            parsed = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            if parsed.tzinfo is None:  # PassFort's times are UTC; never the server's zone
                parsed = parsed.replace(tzinfo=UTC)
            return parsed.timestamp()
    try:
        value = float(raw)
    except OverflowError:
        value = math.inf
    except ValueError:
        raise _malformed(f"{path}.timestamp", "must be Unix seconds or an ISO-8601 time") from None
    if not math.isfinite(value):
        raise _malformed(f"{path}.timestamp", "is out of range (not a finite number)")
    return value


def _malformed(path: str, problem: str) -> WebhookError:
    return WebhookError(
        f"webhook {path} {problem}",
        status=400,
        json_path=path,
        hint="every PassFort webhook has id, event, timestamp and data.profile_id",
    )


def _required_text(container: Mapping[str, Any], key: str, path: str) -> str:
    value = container.get(key)
    if not isinstance(value, str) or not value.strip():
        what = "is missing" if value is None else "must be a non-empty string"
        raise _malformed(f"{path}.{key}", what)
    return value


def _identifier(container: Mapping[str, Any], key: str, path: str) -> str:
    """A required id: non-empty, at most :data:`MAX_ID_LENGTH` printable characters."""
    value = _required_text(container, key, path)
    _check_identifier(value, path, key)
    return value


def _check_identifier(value: str, path: str, key: str) -> None:
    # A 1 MB profile id would become a request URL PassFort refuses on every retry; a control
    # character in an id breaks log lines. PassFort's own ids are 36-character UUIDs.
    if len(value) > MAX_ID_LENGTH:
        raise _malformed(
            f"{path}.{key}", f"is {len(value)} characters long; an id has at most {MAX_ID_LENGTH}"
        )
    if not value.isprintable():
        raise _malformed(
            f"{path}.{key}", "contains control or unprintable characters; an id is printable text"
        )


def parse_webhook_body(
    headers: Mapping[str, str],
    body: bytes,
    *,
    secret: Secret | None,
    clock: Callable[[], float] = time.time,
) -> list[SourceEvent]:
    """Verify and parse one webhook request into events, in delivery order.

    Raises :class:`~fieldline.errors.WebhookError`: 503 when no secret is configured (PassFort
    retries, so nothing is lost while it gets set), 401 for a missing or wrong secret, 400 for
    a malformed body (``json_path`` in the error's context names the offending place). A
    missing ``timestamp`` becomes the time of receipt.
    """
    if secret is None or not secret.reveal():
        raise WebhookError(
            "the PassFort webhook secret is not configured; refusing webhooks",
            status=503,
            hint="set FIELDLINE_PASSFORT_WEBHOOK_SECRET (or webhook_secret in [passfort])",
        )
    expected = secret.reveal().encode("utf-8", "surrogatepass")
    token = bearer_token(headers)
    if token is not None and not _matches(token, expected):
        raise WebhookError("webhook Authorization bearer token is wrong", status=401, hint=SECRET_HINT)
    header_ok = token is not None

    parsed = _Document(body)
    if "secret" in parsed.duplicates:
        raise WebhookError(
            'webhook body gives the "secret" key twice in one object; send it once',
            status=401,
            hint=SECRET_HINT,
        )
    items, path_of, wrapper_secret = _envelopes(parsed.value)
    if wrapper_secret is not None and not _matches(wrapper_secret, expected):
        raise WebhookError("webhook $.secret is wrong", status=401, hint=SECRET_HINT)
    wrapper_ok = wrapper_secret is not None

    for index, item in enumerate(items):
        given = item.get("secret") if isinstance(item, dict) else None
        if given is not None and not _matches(given, expected):
            raise WebhookError(f"webhook {path_of(index)}.secret is wrong", status=401, hint=SECRET_HINT)
        if given is None and not (header_ok or wrapper_ok):
            raise WebhookError(
                f"webhook {path_of(index)} carries no secret and the request has no bearer token",
                status=401,
                hint=SECRET_HINT,
            )
    if not items and not (header_ok or wrapper_ok):
        raise WebhookError("empty webhook batch without a bearer token", status=401, hint=SECRET_HINT)

    _check_text(parsed.value, body, shallow=parsed.shallow)
    if parsed.duplicates:
        raise _malformed("$", f"repeats the key {parsed.duplicates[0]!r} in one object")
    received_at = clock()
    events: list[SourceEvent] = []
    for index, item in enumerate(items):
        event = _plain_event(item, received_at)
        events.append(event if event is not None else _checked_event(item, path_of(index), received_at))
    return events


# Timestamps between these are plain Unix seconds: float() cannot overflow on them.
_PLAIN_TIME_LIMIT = 2.0**62


def _plain_event(item: Any, received_at: float) -> SourceEvent | None:
    """The event of an ordinary envelope, or ``None`` when any check would say something
    (then :func:`_checked_event` runs them one by one and names what is wrong).

    The same checks as :func:`_checked_event`, without building a JSON path or calling a
    function per field: most of a batch's cost was those calls, not the checks.
    """
    if type(item) is not dict:
        return None
    data = item.get("data")
    if type(data) is not dict:
        return None
    event_id = item.get("id")
    event_type = item.get("event")
    profile_id = data.get("profile_id")
    # _plain_id's test, written out: three calls per event were a tenth of a batch's cost.
    if not (
        type(event_id) is str
        and type(event_type) is str
        and type(profile_id) is str
        and 0 < len(event_id) <= MAX_ID_LENGTH
        and 0 < len(event_type) <= MAX_ID_LENGTH
        and 0 < len(profile_id) <= MAX_ID_LENGTH
        and event_id.isprintable()
        and event_type.isprintable()
        and profile_id.isprintable()
        and not (event_id.isspace() or event_type.isspace() or profile_id.isspace())
    ):
        return None
    application_id = data.get("application_id")
    if type(application_id) is str and application_id:
        if len(application_id) > MAX_ID_LENGTH or not application_id.isprintable():
            return None
        keys: tuple[str, ...] = (f"profile:{profile_id}", f"application:{application_id}")
    else:
        keys = (f"profile:{profile_id}",)
    raw = item.get("timestamp")
    if raw is None:
        occurred_at = received_at
    elif (type(raw) is int or type(raw) is float) and (
        -_PLAIN_TIME_LIMIT < raw <= received_at + FUTURE_WARNING_SECONDS  # NaN and inf fail too
    ):
        occurred_at = float(raw) if raw < received_at else received_at  # never after its receipt
    else:
        return None  # an ISO text, a far-future time or a bad value: the checked path says
    event: SourceEvent = _new_event(SourceEvent)  # SourceEvent(...) without its frozen __init__
    _set_id(event, event_id)
    _set_type(event, event_type)
    _set_entity_key(event, profile_id)
    _set_occurred_at(event, occurred_at)
    _set_payload(event, data)
    _set_ordering_keys(event, keys)
    _set_role(event, EventRole.TRIGGER)
    _set_tenant(event, "")  # PassFort events are the spec's own: no tenant
    return event


_EVENT_FIELDS = ("id", "type", "entity_key", "occurred_at", "payload", "ordering_keys", "role", "tenant")


def _slot_setters() -> tuple[Callable[[SourceEvent, Any], None], ...]:
    """The setters of SourceEvent's slots, in :data:`_EVENT_FIELDS` order.

    SourceEvent is a frozen dataclass: its ``__init__`` sets every field through
    ``object.__setattr__``, which was half of an event's cost in a batch. The slots' own
    setters build the same object for less than half of that. Checked against the dataclass's
    fields at import, so a changed SourceEvent fails loudly here rather than half built.
    """
    if tuple(item.name for item in dataclasses.fields(SourceEvent)) != _EVENT_FIELDS:
        raise RuntimeError(f"SourceEvent's fields are no longer {_EVENT_FIELDS}; update {__name__}")
    return tuple(SourceEvent.__dict__[name].__set__ for name in _EVENT_FIELDS)


_new_event = object.__new__
(
    _set_id,
    _set_type,
    _set_entity_key,
    _set_occurred_at,
    _set_payload,
    _set_ordering_keys,
    _set_role,
    _set_tenant,
) = _slot_setters()


def _checked_event(item: Any, path: str, received_at: float) -> SourceEvent:
    """One envelope's event, each check in turn: a :class:`WebhookError` names the first problem."""
    if not isinstance(item, dict):
        raise _malformed(path, "must be a JSON object")
    event_id = _identifier(item, "id", path)
    event_type = _identifier(item, "event", path)
    data = item.get("data")
    if not isinstance(data, dict):
        raise _malformed(f"{path}.data", "is missing" if data is None else "must be a JSON object")
    profile_id = _identifier(data, "profile_id", f"{path}.data")
    application_id = data.get("application_id")
    if isinstance(application_id, str) and application_id:
        _check_identifier(application_id, f"{path}.data", "application_id")
    return SourceEvent(
        id=event_id,
        type=event_type,
        entity_key=profile_id,
        occurred_at=_occurred_at(item.get("timestamp"), path, received_at),
        payload=data,
        ordering_keys=ordering_keys(profile_id, application_id),
        role=EventRole.TRIGGER,  # the profile is fetched: the webhook only says it changed
    )


def ordering_keys(profile_id: str, application_id: object) -> tuple[str, ...]:
    """The keys an event is kept in order by: its profile, and its application when it names one
    (a product status or badge change). An event older than one already applied to either is stale."""
    keys = [f"profile:{profile_id}"]
    if isinstance(application_id, str) and application_id:
        keys.append(f"application:{application_id}")
    return tuple(keys)
