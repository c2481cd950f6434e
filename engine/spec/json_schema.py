"""JSON Schema checks with human messages: the shipped spec schema and adapters' option schemas.

jsonschema's own messages ("Additional properties are not allowed ('modee' was unexpected)") are
rewritten into what a spec author needs ("unknown key 'modee'", hint "did you mean 'mode'?"),
each located at the key or value it is about.
"""

from __future__ import annotations

import copy
import functools
import importlib.resources
import json
from collections.abc import Iterable, Mapping
from typing import Any

import jsonschema
from jsonschema.exceptions import ValidationError

from fieldline.contracts import AdapterInfo, AdapterKind
from fieldline.errors import Problem
from fieldline.spec.collector import ProblemCollector
from fieldline.spec.hints import did_you_mean, one_of
from fieldline.spec.positions import PathKey, PositionIndex

__all__ = [
    "SCHEMA_RESOURCE",
    "mapping_schema",
    "mapping_schema_text",
    "mapping_schema_with_adapters",
    "schema_problems",
]

SCHEMA_RESOURCE = "mapping.schema.json"

_TYPE_NAMES = {
    "string": "a string",
    "object": "a mapping",
    "array": "a list",
    "integer": "an integer",
    "number": "a number",
    "boolean": "a boolean",
    "null": "null",
}


def mapping_schema_text() -> str:
    """The mapping spec JSON Schema exactly as shipped (package data)."""
    return importlib.resources.files("fieldline.spec").joinpath(SCHEMA_RESOURCE).read_text("utf-8")


@functools.cache
def mapping_schema() -> Mapping[str, Any]:
    """The mapping spec JSON Schema, parsed (cached: it never changes while running)."""
    schema: dict[str, Any] = json.loads(mapping_schema_text())
    return schema


def mapping_schema_with_adapters(adapters: Mapping[tuple[str, AdapterKind], AdapterInfo]) -> dict[str, Any]:
    """The spec schema plus, for editors, each installed adapter's ``options`` schema.

    ``source`` and ``target`` list the installed adapter names and, per name, check ``options``
    against that adapter's schema (embedded with its own ``$id``, so its internal ``$ref``s
    still resolve). ``validate`` itself uses :func:`mapping_schema` and checks options apart,
    with better messages.
    """
    schema = copy.deepcopy(dict(mapping_schema()))
    properties = schema["properties"]
    for kind in AdapterKind:
        infos = sorted((info for (_, k), info in adapters.items() if k is kind), key=lambda info: info.name)
        if not infos:
            continue
        base = properties[kind.value]
        names_rule: dict[str, Any] = {
            "properties": {
                "adapter": {"enum": [info.name for info in infos], "description": "An installed adapter."}
            }
        }
        per_adapter = [
            {
                "if": {"properties": {"adapter": {"const": info.name}}, "required": ["adapter"]},
                "then": {
                    "properties": {
                        "options": {
                            "$id": f"urn:fieldline:adapter:{kind.value}:{info.name}",
                            "description": info.description or f"Options of the {info.name!r} adapter.",
                            **dict(info.options_schema),
                        }
                    }
                },
            }
            for info in infos
        ]
        properties[kind.value] = {
            "title": base["title"],
            "description": base["description"],
            "allOf": [{"$ref": base["$ref"]}, names_rule, *per_adapter],
        }
    return schema


@functools.cache
def _spec_validator() -> jsonschema.protocols.Validator:
    return jsonschema.Draft202012Validator(mapping_schema())


def schema_problems(
    instance: Any,
    index: PositionIndex,
    *,
    file: str | None,
    schema: Mapping[str, Any] | None = None,
    base: PathKey = (),
    what: str = "",
) -> list[Problem]:
    """Every schema violation of ``instance`` (the spec, or adapter options under ``base``).

    ``schema`` defaults to the spec schema; an adapter's ``options_schema`` otherwise, in which
    case ``what`` names it for messages.
    """
    if schema is None:
        validator = _spec_validator()
    else:
        validator_class = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
        validator = validator_class(schema)
    translator = _Translator(index, file=file, base=base, what=what)
    for error in validator.iter_errors(instance):
        translator.translate(error)
    return translator.problems


class _Translator(ProblemCollector):
    def __init__(self, index: PositionIndex, *, file: str | None, base: PathKey, what: str) -> None:
        super().__init__(index, file=file, code="schema")
        self.base = base
        self.what = what
        self._seen: set[tuple[PathKey, str]] = set()

    def add(self, path: PathKey, message: str, *, hint: str | None = None, at_key: bool = False) -> None:
        # jsonschema reports some failures once per offending key, each naming them all
        # (``required``, ``additionalProperties``): say each problem once
        if (path, message) in self._seen:
            return
        self._seen.add((path, message))
        if self.what:
            hint = f"{hint}; {self.what}" if hint else self.what
        self.report(path, message, hint=hint, at_key=at_key)

    def translate(self, error: ValidationError) -> None:
        path: PathKey = self.base + tuple(error.absolute_path)
        instance = error.instance
        schema = error.schema if isinstance(error.schema, Mapping) else {}
        validator = error.validator
        value: Any = error.validator_value
        if validator == "additionalProperties" and isinstance(instance, Mapping):
            allowed = list(schema.get("properties", {}))
            for key in instance:
                if key not in allowed:
                    hint = did_you_mean(str(key), allowed) or (
                        f"allowed keys here: {', '.join(allowed)}" if allowed else None
                    )
                    self.add((*path, key), f"unknown key {key!r}", hint=hint, at_key=True)
        elif validator == "required" and isinstance(instance, Mapping):
            for key in value:
                if key not in instance:
                    title = schema.get("properties", {}).get(key, {}).get("description")
                    self.add(path, f"missing required key {key!r}", hint=title)
        elif validator == "type":
            self._type(path, instance, value, schema)
        elif validator == "enum":
            choices = [str(choice) for choice in value]
            name = str(path[-1]) if path and isinstance(path[-1], str) else "value"
            hint = (did_you_mean(instance, choices) if isinstance(instance, str) else None) or (
                f"use {one_of(choices)}"
            )
            self.add(path, f"{_show(instance)} is not a valid {name}", hint=hint)
        elif validator == "const":
            if path == ("fieldline",):
                self.add(
                    path,
                    f"unsupported spec format version {_show(instance)}",
                    hint="this fieldline reads format version 1: write 'fieldline: 1'",
                )
            else:
                self.add(path, f"must be {_show(value)}, not {_show(instance)}")
        elif validator == "minLength":
            self.add(path, "must not be empty")
        elif validator == "minItems":
            self.add(
                path,
                "must not be empty",
                hint="records: add at least one record" if path == ("records",) else None,
            )
        elif validator == "minProperties":
            self.add(
                path,
                "must not be empty",
                hint="fields: map at least one target field" if path[-1:] == ("fields",) else None,
            )
        elif validator == "pattern" and path[-1:] == ("name",):
            self.add(
                path,
                f"record name {_show(instance)} is not identifier-like",
                hint="use letters, digits and _, not starting with a digit (e.g. 'applicant')",
            )
        elif (
            validator == "oneOf" and isinstance(instance, Mapping) and "value" in schema.get("properties", {})
        ):
            present = [key for key in ("value", "const", "ref") if key in instance]
            if not present:
                self.add(path, "a field needs one of 'value', 'const' or 'ref'", hint=_FIELD_HINT)
            else:
                names = [repr(key) for key in present]
                listed = ", ".join(names[:-1]) + " and " + names[-1]
                self.add(
                    path,
                    f"a field takes exactly one of 'value', 'const' or 'ref'; this one has {listed}",
                    hint="keep one of them",
                )
        elif error.context:
            for sub_error in _best_branch(error.context):
                self.translate(sub_error)
        else:
            self.add(path, error.message)

    def _type(self, path: PathKey, instance: Any, expected: Any, schema: Mapping[str, Any]) -> None:
        names = [expected] if isinstance(expected, str) else list(expected)
        if schema.get("title") == "Field" and "object" in names:
            self.add(
                path,
                f"a field must be a JMESPath string or a mapping, not {_kind(instance)}",
                hint=_FIELD_HINT,
            )
            return
        wanted = one_of([_TYPE_NAMES.get(name, name) for name in names]).replace("'", "")
        self.add(path, f"expected {wanted}, got {_kind(instance)}")


_FIELD_HINT = "e.g. 'Name: display_name', 'Type: {const: Customer}' or 'Account__c: {ref: applicant}'"


def _best_branch(errors: Iterable[ValidationError]) -> list[ValidationError]:
    """The sub-errors of the ``anyOf``/``oneOf`` branch that came closest (fewest errors)."""
    by_branch: dict[Any, list[ValidationError]] = {}
    for error in errors:
        branch = error.relative_schema_path[0] if error.relative_schema_path else None
        by_branch.setdefault(branch, []).append(error)
    return min(by_branch.values(), key=len) if by_branch else []


def _kind(instance: Any) -> str:
    if instance is None:
        return "null"
    if isinstance(instance, bool):
        return f"a boolean ({json.dumps(instance)})"
    if isinstance(instance, int | float):
        return f"a number ({instance!r})"
    if isinstance(instance, str):
        return f"a string ({instance!r})"
    if isinstance(instance, Mapping):
        return "a mapping"
    if isinstance(instance, list):
        return "a list"
    return type(instance).__name__


def _show(value: Any) -> str:
    if isinstance(value, str):
        return repr(value)
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)
