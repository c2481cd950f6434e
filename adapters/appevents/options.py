"""The ``appevents`` source options: keys, claim rules and each event type."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fieldline.adapters.appevents.schemas import EventSchema, load_schema
from fieldline.contracts import AdapterContext
from fieldline.errors import ConfigError, ExpressionError
from fieldline.expressions.compiled import CompiledExpression, FunctionRegistry, compile_expression

__all__ = ["OPTIONS_SCHEMA", "AppEventsOptions", "EventType", "parse_options"]

_PATH = {"type": "string", "minLength": 1}

OPTIONS_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["events"],
    "properties": {
        "public_keys": {
            "description": (
                "The application's public key(s) that verify its RS256 JWTs: PEM files (each "
                "file's stem is its kid) and/or JWKS files. Several keys allow rotation; the "
                "token then names its key by kid. FIELDLINE_APPEVENTS_PUBLIC_KEYS (paths "
                "separated by the path separator) overrides it."
            ),
            "oneOf": [_PATH, {"type": "array", "items": _PATH, "minItems": 1}],
        },
        "audience": {"description": "Required 'aud' claim (unchecked when not set).", **_PATH},
        "issuer": {"description": "Required 'iss' claim (unchecked when not set).", **_PATH},
        "leeway": {
            "description": "Seconds of clock skew allowed for exp, iat and nbf (default 30).",
            "type": "number",
            "minimum": 0,
            "maximum": 300,
        },
        "backfill": {
            "description": (
                "A JSON Lines file of past events ({sub, name, payload, id}), each checked against "
                "its schema: what `fieldline plan` and `fieldline sync` read (one tenant's org at a "
                "time, from the FIELDLINE_SALESFORCE_* settings). The service never reads it."
            ),
            **_PATH,
        },
        "max_events": {
            "description": "Events a batch request may hold (default 1000).",
            "type": "integer",
            "minimum": 1,
            "maximum": 10000,
        },
        "case_sensitive_keys": {
            "description": (
                "Keep entity keys' letter case (default false: ana@X.com and Ana@x.com are one entity)."
            ),
            "type": "boolean",
        },
        "events": {
            "description": "Every event type accepted; any other name is refused with 422.",
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name", "schema", "entity_key"],
                "properties": {
                    "name": {"description": "The event name the application sends.", **_PATH},
                    "schema": {
                        "description": "The payload's JSON Schema (Draft 2020-12), next to the spec.",
                        **_PATH,
                    },
                    "entity_key": {
                        "description": (
                            "JMESPath over the event ({name, id, payload}) giving the entity it is "
                            "about, e.g. payload.email: one entity's events apply in order."
                        ),
                        **_PATH,
                    },
                    "event_id": {
                        "description": "JMESPath giving the event's id for dedupe (default: id).",
                        **_PATH,
                    },
                },
            },
        },
    },
}


@dataclass(frozen=True, slots=True)
class EventType:
    name: str
    schema: EventSchema
    entity_key: CompiledExpression
    event_id: CompiledExpression


@dataclass(frozen=True, slots=True)
class AppEventsOptions:
    public_keys: tuple[Path, ...]
    events: Mapping[str, EventType]
    audience: str | None = None
    issuer: str | None = None
    leeway: float = 30.0
    max_events: int = 1000
    case_sensitive_keys: bool = False
    backfill: Path | None = None


_REGISTRY = FunctionRegistry()  # JMESPath's own functions: keys and ids need no plugins


def _expression(text: str, where: str) -> CompiledExpression:
    try:
        return compile_expression(text, _REGISTRY)
    except ExpressionError as exc:
        raise ConfigError(f"{where}: {exc.message}", hint=exc.hint) from exc


def parse_options(
    options: Mapping[str, Any], context: AdapterContext, environ: Mapping[str, str] | None = None
) -> AppEventsOptions:
    """The options with files resolved from the spec's folder and schemas compiled."""
    import os

    env = os.environ if environ is None else environ
    raw_keys: Any = env.get("FIELDLINE_APPEVENTS_PUBLIC_KEYS") or options.get("public_keys") or ()
    if isinstance(raw_keys, str):
        raw_keys = [part for part in raw_keys.split(os.pathsep) if part]
    events: dict[str, EventType] = {}
    for index, raw in enumerate(options.get("events") or ()):
        where = f"source.options.events[{index}]"
        name = str(raw["name"])
        if name in events:
            raise ConfigError(f"{where}: the event {name!r} is declared twice")
        events[name] = EventType(
            name=name,
            schema=load_schema(context.resolve(str(raw["schema"]))),
            entity_key=_expression(str(raw["entity_key"]), f"{where}.entity_key"),
            event_id=_expression(str(raw.get("event_id") or "id"), f"{where}.event_id"),
        )
    return AppEventsOptions(
        public_keys=tuple(context.resolve(str(path)) for path in raw_keys),
        events=events,
        audience=options.get("audience"),
        issuer=options.get("issuer"),
        leeway=float(options.get("leeway", 30.0)),
        max_events=int(options.get("max_events", 1000)),
        case_sensitive_keys=bool(options.get("case_sensitive_keys", False)),
        backfill=context.resolve(str(options["backfill"])) if options.get("backfill") else None,
    )
