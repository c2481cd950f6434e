"""Each app event's JSON Schema (Draft 2020-12): loaded once, checked, compiled, applied.

A schema file is read and its validator compiled once per process (keyed by the file's path,
modification time and size), so every source and worker shares it. ``check`` reports a schema
that is not valid Draft 2020-12 with the JSON path of the fault; :func:`path_in_schema` tells
whether a dotted path can exist in documents of a schema (``False`` only where the schema is
closed: ``additionalProperties: false`` or ``unevaluatedProperties: false`` without the name).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict

import jsonschema
from jsonschema import Draft202012Validator, FormatChecker

from fieldline.errors import ConfigError

__all__ = ["EventSchema", "SchemaError", "load_schema", "path_in_schema"]


class SchemaError(TypedDict):
    """One reason a payload fails its schema, as the 422 answer gives it."""

    pointer: str  # JSON pointer of the failing value within the event (``/payload/email``)
    keyword: str  # the schema keyword that failed (``required``, ``format``, ``type``...)
    message: str


@dataclass(frozen=True, slots=True)
class EventSchema:
    """A compiled schema for one event type's payload."""

    file: Path
    schema: Mapping[str, Any]
    validator: Draft202012Validator

    def errors(self, payload: Any) -> list[SchemaError]:
        """Every way ``payload`` fails the schema (empty: valid), in document order."""
        found = [
            SchemaError(
                pointer="/payload" + "".join(f"/{_escape(part)}" for part in error.absolute_path),
                keyword=str(error.validator),
                message=error.message,
            )
            for error in self.validator.iter_errors(payload)
        ]
        found.sort(key=lambda item: (item["pointer"], item["keyword"]))
        return found

    @property
    def closed(self) -> bool:
        return _closed(self.schema)


_CACHE: dict[tuple[str, int, int], EventSchema] = {}
_CACHE_LOCK = threading.Lock()


def load_schema(file: Path) -> EventSchema:
    """The schema in ``file``, checked and compiled (once per file version)."""
    try:
        stat = file.stat()
    except OSError as exc:
        raise ConfigError(
            f"cannot read the event schema {str(file)!r}: {exc.strerror}",
            hint="schema paths are relative to the spec's folder",
        ) from exc
    key = (str(file.resolve()), stat.st_mtime_ns, stat.st_size)
    with _CACHE_LOCK:
        cached = _CACHE.get(key)
    if cached is not None:
        return cached
    try:
        schema = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{file}: the event schema is not JSON: {exc}") from exc
    if not isinstance(schema, Mapping):
        raise ConfigError(f"{file}: an event schema is a JSON object")
    declared = schema.get("$schema")
    if declared is not None and "2020-12" not in str(declared):
        raise ConfigError(
            f"{file}: $schema is {declared!r}; event schemas are JSON Schema Draft 2020-12",
            hint='use "$schema": "https://json-schema.org/draft/2020-12/schema"',
        )
    try:
        Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        where = "".join(f"/{_escape(part)}" for part in exc.absolute_path) or "/"
        raise ConfigError(
            f"{file}: the event schema is not valid Draft 2020-12 at {where}: {exc.message}",
            hint="check it with any JSON Schema 2020-12 validator",
        ) from exc
    compiled = EventSchema(
        file=file, schema=schema, validator=Draft202012Validator(schema, format_checker=FormatChecker())
    )
    with _CACHE_LOCK:
        _CACHE[key] = compiled
    return compiled


def _escape(part: Any) -> str:
    return str(part).replace("~", "~0").replace("/", "~1")


def _closed(schema: Any) -> bool:
    return isinstance(schema, Mapping) and (
        schema.get("additionalProperties") is False or schema.get("unevaluatedProperties") is False
    )


def path_in_schema(root: Mapping[str, Any], parts: Sequence[str]) -> bool:
    """Whether documents valid for ``root`` can have a value at the object path ``parts``."""
    return _can_hold(root, root, list(parts), depth=0)


def _can_hold(root: Mapping[str, Any], schema: Any, parts: list[str], depth: int) -> bool:
    if not parts or depth > 32:
        return True
    if schema is True or not isinstance(schema, Mapping):
        return schema is not False
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        target: Any = root
        for piece in ref[2:].split("/"):
            target = (
                target.get(piece.replace("~1", "/").replace("~0", "~"))
                if isinstance(target, Mapping)
                else None
            )
        if target is not None and not _can_hold(root, target, parts, depth + 1):
            return False
    for combinator in ("anyOf", "oneOf"):
        branches = schema.get(combinator)
        if (
            isinstance(branches, list)
            and branches
            and not any(_can_hold(root, branch, parts, depth + 1) for branch in branches)
        ):
            return False
    branches = schema.get("allOf")
    if isinstance(branches, list) and any(_declares(branch, parts[0]) for branch in branches):
        return all(
            _can_hold(root, branch, parts, depth + 1) for branch in branches if _declares(branch, parts[0])
        )
    head, rest = parts[0], parts[1:]
    properties = schema.get("properties")
    if isinstance(properties, Mapping) and head in properties:
        return _can_hold(root, properties[head], rest, depth + 1)
    patterns = schema.get("patternProperties")
    if isinstance(patterns, Mapping) and patterns:
        return True  # a name may match a pattern: cannot tell without evaluating
    if _closed(schema):
        return False
    extra = schema.get("additionalProperties")
    return _can_hold(root, extra, rest, depth + 1) if isinstance(extra, Mapping) else True


def _declares(schema: Any, name: str) -> bool:
    properties = schema.get("properties") if isinstance(schema, Mapping) else None
    return isinstance(properties, Mapping) and name in properties
