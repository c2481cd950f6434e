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

Order of checks: a bearer header must not be wrong (401), the JSON must parse (400), every
envelope must be authenticated (401), then every envelope must be well formed (400, naming the
JSON path). So an unauthenticated sender learns nothing about what a valid envelope looks like.
"""

from __future__ import annotations

import hmac
import json
import logging
import math
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
    """
    value = None
    for name, header_value in headers.items():
        if name.lower() == "authorization":
            value = header_value
            break
    if value is None:
        return None
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip()


def _matches(given: object, expected: bytes) -> bool:
    if not isinstance(given, str):
        return False
    # compare_digest on str rejects non-ASCII; bytes keep it constant-time for any input.
    return hmac.compare_digest(given.encode("utf-8", "surrogatepass"), expected)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _load_json(body: bytes) -> Any:
    try:
        return json.loads(body, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        # UnicodeDecodeError and JSONDecodeError are ValueErrors; RecursionError: absurd nesting.
        raise WebhookError(
            "webhook body is not valid JSON",
            status=400,
            hint="PassFort sends a JSON object (one event) or a JSON list (a batch)",
            json_path="$",
        ) from exc


def _envelopes(document: Any) -> tuple[list[tuple[str, Any]], Any]:
    """``([(json path, envelope)], wrapper secret)`` for a single, list or wrapped body."""
    if isinstance(document, list):
        return [(f"$[{index}]", item) for index, item in enumerate(document)], None
    if isinstance(document, dict):
        if "event" not in document and isinstance(document.get("events"), list):
            items = document["events"]
            return [(f"$.events[{index}]", item) for index, item in enumerate(items)], document.get("secret")
        return [("$", document)], None
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

    document = _load_json(body)
    items, wrapper_secret = _envelopes(document)
    if wrapper_secret is not None and not _matches(wrapper_secret, expected):
        raise WebhookError("webhook $.secret is wrong", status=401, hint=SECRET_HINT)
    wrapper_ok = wrapper_secret is not None

    for path, item in items:
        given = item.get("secret") if isinstance(item, dict) else None
        if given is not None and not _matches(given, expected):
            raise WebhookError(f"webhook {path}.secret is wrong", status=401, hint=SECRET_HINT)
        if given is None and not (header_ok or wrapper_ok):
            raise WebhookError(
                f"webhook {path} carries no secret and the request has no bearer token",
                status=401,
                hint=SECRET_HINT,
            )
    if not items and not (header_ok or wrapper_ok):
        raise WebhookError("empty webhook batch without a bearer token", status=401, hint=SECRET_HINT)

    received_at = clock()
    events: list[SourceEvent] = []
    for path, item in items:
        if not isinstance(item, dict):
            raise _malformed(path, "must be a JSON object")
        event_id = _required_text(item, "id", path)
        event_type = _required_text(item, "event", path)
        data = item.get("data")
        if not isinstance(data, dict):
            raise _malformed(f"{path}.data", "is missing" if data is None else "must be a JSON object")
        profile_id = _required_text(data, "profile_id", f"{path}.data")
        events.append(
            SourceEvent(
                id=event_id,
                type=event_type,
                entity_key=profile_id,
                occurred_at=_occurred_at(item.get("timestamp"), path, received_at),
                payload=data,
                ordering_keys=ordering_keys(profile_id, data.get("application_id")),
                role=EventRole.TRIGGER,  # the profile is fetched: the webhook only says it changed
            )
        )
    return events


def ordering_keys(profile_id: str, application_id: object) -> tuple[str, ...]:
    """The keys an event is kept in order by: its profile, and its application when it names one
    (a product status or badge change). An event older than one already applied to either is stale."""
    keys = [f"profile:{profile_id}"]
    if isinstance(application_id, str) and application_id:
        keys.append(f"application:{application_id}")
    return tuple(keys)
