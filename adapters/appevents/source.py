"""The ``appevents`` source: named app events, JWT-authenticated, checked against their schemas.

A request is one event ``{"name": ..., "payload": {...}, "id": "optional", "timestamp":
optional}`` or a JSON array of them, with ``Authorization: Bearer <RS256 JWT>``. The checks,
in order, each refusing the whole request (nothing of it is queued):

1. the token (401 with ``WWW-Authenticate: Bearer error="invalid_token"``), see
   :mod:`fieldline.adapters.appevents.tokens`;
2. the tenant: with a connections file, the token's ``sub`` must have a connection (403);
3. the body's shape: JSON, an event object or a non-empty array of them, each with a string
   ``name`` and an object ``payload`` (400);
4. each event's name must be declared and its payload valid for that event's schema (422 with
   every error of every failing element: its index, JSON pointer, keyword and message).

An accepted event is a *document* event (its payload is what the spec maps: ``{"name", "id",
"payload", "sub"}``), carries the ``sub`` as its tenant, and is keyed by tenant and entity key
(``user-1/ada@example.com``), so one tenant's entity orders and dedupes apart from another's.
Its id is ``<sub>/<event id>`` when the event has one; otherwise a digest of the token's ``sub``
and ``iat``, the element's position and content, so a retried request with the same token
dedupes, while the same content sent again with a new token is a new event.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from fieldline.adapters.appevents.options import AppEventsOptions, EventType
from fieldline.adapters.appevents.schemas import SchemaError, path_in_schema
from fieldline.adapters.appevents.tokens import Claims, TokenRefused, TokenVerifier
from fieldline.contracts import EventRole, SourceBase, SourceDocument, SourceEvent
from fieldline.errors import ConfigError, EvaluationError, WebhookError

__all__ = ["ENVELOPE_KEYS", "AppEventsSource"]

ENVELOPE_KEYS = frozenset({"name", "id", "payload", "sub", "timestamp"})  # what a document holds
MAX_KEY_LENGTH = 255
_CHALLENGE = {"WWW-Authenticate": 'Bearer error="invalid_token"'}


class AppEventsSource(SourceBase):
    """Receives app events (the webhook-source contract); reads and fetches only the optional
    ``backfill`` file of past events."""

    name = "appevents"

    def __init__(
        self,
        options: AppEventsOptions,
        *,
        tenants: frozenset[str] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.options = options
        self.tenants = tenants
        self.clock = clock
        self._verifier: TokenVerifier | None = None
        self._setup_problem: ConfigError | None = None
        if options.public_keys:
            try:
                self._verifier = TokenVerifier(
                    options.public_keys,
                    audience=options.audience,
                    issuer=options.issuer,
                    leeway=options.leeway,
                    clock=clock,
                )
            except ConfigError as exc:
                self._setup_problem = exc

    # --- the webhook-source contract --------------------------------------------------------

    def check_receiving(self) -> None:
        if self._setup_problem is not None:
            raise self._setup_problem
        if self._verifier is None:
            raise ConfigError(
                "the appevents source has no public key to verify tokens with",
                hint="set source.options.public_keys (PEM or JWKS) or FIELDLINE_APPEVENTS_PUBLIC_KEYS",
            )

    def is_enabled(self, event_type: str) -> bool:
        return event_type in self.options.events

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> Sequence[SourceEvent]:
        claims = self._authenticate(headers)
        if self.tenants is not None and claims.sub not in self.tenants:
            raise WebhookError(
                f"no Salesforce connection for the token's sub {claims.sub[:64]!r}",
                status=403,
                hint="add the tenant to the connections file (`fieldline connections list` shows them)",
            )
        elements, single = self._elements(body)
        failures: list[dict[str, Any]] = []
        typed: list[tuple[Mapping[str, Any], EventType]] = []
        for index, element in enumerate(elements):
            event_type = self.options.events.get(element["name"])
            if event_type is None:
                failures.append(
                    _failure(
                        index,
                        element["name"],
                        [
                            SchemaError(
                                pointer="/name",
                                keyword="enum",
                                message=f"unknown event {element['name'][:80]!r}; known: {self._known()}",
                            )
                        ],
                    )
                )
                continue
            errors = event_type.schema.errors(element["payload"])
            if errors:
                failures.append(_failure(index, event_type.name, errors))
            else:
                typed.append((element, event_type))
        if failures:
            raise _unprocessable(failures, len(elements), single)
        now = self.clock()
        return [
            self._event(element, event_type, claims, index, now)
            for index, (element, event_type) in enumerate(typed)
        ]

    # --- the source contract ----------------------------------------------------------------

    def read(self) -> Iterator[SourceDocument]:
        """The backfill file's events, in file order, each checked against its schema (a
        :class:`ConfigError` naming the line that fails)."""
        path = self.options.backfill
        if path is None:
            return
        try:
            handle = path.open(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read the app events backfill {str(path)!r}: {exc.strerror}") from exc
        with handle:
            for number, line in enumerate(handle, start=1):
                if line.strip():
                    yield self._backfill_document(line, f"{path}:{number}")

    def fetch(self, key: str) -> SourceDocument | None:
        """The newest backfill event of the entity ``key`` (``<sub>/<entity key>``)."""
        found: SourceDocument | None = None
        for document in self.read():
            if document.key == key:
                found = document
        return found

    def check_ready(self) -> None:
        if self.options.backfill is not None and not self.options.backfill.is_file():
            raise ConfigError(
                f"the app events backfill {str(self.options.backfill)!r} does not exist",
                hint="fix source.options.backfill, or remove it (the service does not need it)",
            )

    def _backfill_document(self, line: str, where: str) -> SourceDocument:
        try:
            element = json.loads(line)
        except ValueError as exc:
            raise ConfigError(f"{where}: not JSON: {exc}") from None
        if not isinstance(element, dict) or not isinstance(element.get("sub"), str):
            raise ConfigError(
                f"{where}: a backfill line is an event with its tenant: {{sub, name, payload, id}}"
            )
        sub = element.pop("sub")
        try:
            [checked], _ = self._elements(json.dumps(element).encode("utf-8"))
            event_type = self.options.events.get(checked["name"])
            if event_type is None:
                raise ConfigError(f"{where}: unknown event {checked['name']!r}; known: {self._known()}")
            errors = event_type.schema.errors(checked["payload"])
            if errors:
                shown = "; ".join(f"{error['pointer']}: {error['message']}" for error in errors)
                raise ConfigError(f"{where}: the event is not valid: {shown}")
            claims = Claims(sub=sub, exp=math.inf, iat=0.0)
            event = self._event(checked, event_type, claims, 0, self.clock())
        except WebhookError as exc:
            raise ConfigError(f"{where}: {exc.message}") from None
        version = event.occurred_at if checked.get("timestamp") is not None else None
        return SourceDocument(key=event.entity_key, data=event.payload, version=version)

    def field_path_problem(self, path: str) -> str | None:
        """Why a spec's field path (``payload.company``) can hold no value in any declared
        event: each event's schema is closed and has no such property. ``None`` when it can."""
        parts = path.split(".")
        if parts[0] in ENVELOPE_KEYS - {"payload"} and len(parts) == 1:
            return None
        if parts[0] != "payload":
            return (
                f"app event documents hold {', '.join(sorted(ENVELOPE_KEYS))}; {parts[0]!r} is none of them"
            )
        if any(path_in_schema(event.schema.schema, parts[1:]) for event in self.options.events.values()):
            return None
        names = ", ".join(sorted(self.options.events))
        return f"no event's schema ({names}) has {'.'.join(parts[1:])!r}, and the schemas are closed"

    # --- steps ------------------------------------------------------------------------------

    def _authenticate(self, headers: Mapping[str, str]) -> Claims:
        if self._verifier is None:
            raise WebhookError(
                "this service cannot verify app events: no public key is configured",
                status=503,
                hint="the operator must set source.options.public_keys",
            )
        values = [value for key, value in headers.items() if key.lower() == "authorization"]
        if len(values) != 1:
            reason = "no Authorization header" if not values else "more than one Authorization header"
            raise _unauthorized(f"{reason}; send Authorization: Bearer <JWT>")
        scheme, _, token = values[0].strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _unauthorized("the Authorization header is not 'Bearer <JWT>'")
        try:
            return self._verifier.verify(token.strip())
        except TokenRefused as exc:
            raise _unauthorized(str(exc)) from None

    def _elements(self, body: bytes) -> tuple[list[Mapping[str, Any]], bool]:
        try:
            document = json.loads(body, parse_constant=_refuse_constant)
        except (ValueError, RecursionError) as exc:
            raise WebhookError(f"the body is not JSON: {str(exc)[:120]}", status=400) from None
        single = isinstance(document, dict)
        elements = [document] if single else document
        if not isinstance(elements, list) or not elements:
            raise WebhookError(
                "the body is an event object or a non-empty JSON array of events",
                status=400,
                hint='send {"name": "Lead Created", "payload": {...}}',
            )
        if len(elements) > self.options.max_events:
            raise WebhookError(
                f"a batch holds at most {self.options.max_events} events; this one has {len(elements)}",
                status=413,
            )
        for index, element in enumerate(elements):
            where = "the event" if single else f"event {index}"
            if not isinstance(element, dict):
                raise WebhookError(f"{where} is not a JSON object", status=400)
            name = element.get("name")
            if not isinstance(name, str) or not name.strip():
                raise WebhookError(f"{where} has no name (a string such as 'Lead Created')", status=400)
            if not isinstance(element.get("payload"), dict):
                raise WebhookError(f"{where} ({name[:80]!r}) has no payload object", status=400)
            unknown = sorted(set(element) - ENVELOPE_KEYS - {"sub"})
            if unknown:
                raise WebhookError(
                    f"{where} has unknown members {unknown[:5]}; an event has name, payload, id, timestamp",
                    status=400,
                )
            if "sub" in element:
                raise WebhookError(
                    f"{where}: the tenant comes from the token's sub, not the body", status=400
                )
            if element.get("id") is not None:
                _check_key(element["id"], f"{where}: id")
            if element.get("timestamp") is not None:
                _timestamp(element["timestamp"], where)
        return elements, single

    def _event(
        self, element: Mapping[str, Any], event_type: EventType, claims: Claims, index: int, now: float
    ) -> SourceEvent:
        document = {
            "name": event_type.name,
            "id": element.get("id"),
            "payload": element["payload"],
            "sub": claims.sub,
        }
        where = f"event {index} ({event_type.name!r})"
        key = self._value(event_type.entity_key, document, f"{where}: its entity key")
        if not self.options.case_sensitive_keys:
            key = key.strip().casefold()
        event_id = self._optional_value(event_type, document, where)
        if event_id is None:
            digest = hashlib.sha256(
                json.dumps(
                    [claims.sub, claims.iat, index, event_type.name, element["payload"]],
                    sort_keys=True,
                    default=str,
                ).encode("utf-8", "surrogatepass")
            ).hexdigest()[:32]
            event_id = f"auto-{digest}"
        document["id"] = event_id
        timestamp = element.get("timestamp")
        occurred = _timestamp(timestamp, where) if timestamp is not None else now
        return SourceEvent(
            id=f"{claims.sub}/{event_id}",
            type=event_type.name,
            entity_key=f"{claims.sub}/{key}",
            occurred_at=occurred,
            payload=document,
            role=EventRole.DOCUMENT,
            tenant=claims.sub,
        )

    def _value(self, expression: Any, document: Mapping[str, Any], what: str) -> str:
        try:
            value = expression.search(document)
        except EvaluationError as exc:
            raise WebhookError(f"{what} cannot be evaluated: {exc.message}", status=422) from None
        if value is None or value == "":
            raise WebhookError(
                f"{what} ({expression.text}) is empty; the schema should require it",
                status=422,
                details={"errors": [{"pointer": "", "keyword": "entity_key", "message": "empty"}]},
            )
        return _check_key(value, what)

    def _optional_value(self, event_type: EventType, document: Mapping[str, Any], where: str) -> str | None:
        try:
            value = event_type.event_id.search(document)
        except EvaluationError as exc:
            raise WebhookError(
                f"{where}: its event id cannot be evaluated: {exc.message}", status=422
            ) from None
        if value is None or value == "":
            return None
        return _check_key(value, f"{where}: its event id")

    def _known(self) -> str:
        return ", ".join(repr(name) for name in sorted(self.options.events))


def _check_key(value: Any, what: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise WebhookError(f"{what} must be a string or an integer", status=400)
    text = str(value)
    if not text.strip() or len(text) > MAX_KEY_LENGTH or not text.isprintable():
        raise WebhookError(f"{what} must be 1-{MAX_KEY_LENGTH} printable characters", status=400)
    return text


def _timestamp(value: Any, where: str) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        if math.isfinite(value) and 0 <= value < 1e11:
            return float(value)
    elif isinstance(value, str) and len(value) <= 40:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            if parsed.tzinfo is not None:
                return parsed.timestamp()
    raise WebhookError(
        f"{where}: timestamp is seconds since 1970 or an ISO 8601 time with a zone offset", status=400
    )


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _unauthorized(reason: str) -> WebhookError:
    return WebhookError(reason, status=401, headers=_CHALLENGE)


def _failure(index: int, name: str, errors: list[SchemaError]) -> dict[str, Any]:
    return {"index": index, "name": name, "errors": errors}


def _unprocessable(failures: list[dict[str, Any]], total: int, single: bool) -> WebhookError:
    if single:
        count = len(failures[0]["errors"])
        message = f"the event {failures[0]['name'][:80]!r} is not valid: {count} error(s); nothing was queued"
    else:
        indexes = ", ".join(str(failure["index"]) for failure in failures)
        message = (
            f"{len(failures)} of {total} events are not valid (elements {indexes}); "
            "a batch is all or nothing, so nothing was queued"
        )
    return WebhookError(message, status=422, details={"failed": failures})
