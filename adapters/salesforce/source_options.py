"""``source.options`` of the Salesforce source: the schema ``validate`` checks and their parsing.

Kept apart from the adapter so loading plugins does not import requests or simple-salesforce.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fieldline.errors import ConfigError

__all__ = ["SOURCE_OPTIONS_SCHEMA", "SourceOptions", "parse_source_options"]

SOURCE_OPTIONS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["object"],
    "properties": {
        "object": {"type": "string", "minLength": 1, "description": "The object to read (Account)."},
        "where": {"type": "string", "description": "A SOQL condition selecting the records to read."},
        "fields": {
            "type": "array",
            "items": {"type": "string", "minLength": 1},
            "description": "The fields to read; every readable field known from describe by default.",
        },
        "key": {"type": "string", "default": "Id", "description": "The field whose value keys a document."},
        "version": {
            "type": "string",
            "default": "SystemModstamp",
            "description": "A datetime field ordering states of a record (its last change).",
        },
        "bulk_threshold": {
            "type": "integer",
            "minimum": 1,
            "default": 10000,
            "description": "Above this many matching records, read through a Bulk API 2.0 query job.",
        },
        "page_size": {
            "type": "integer",
            "minimum": 200,
            "maximum": 50000,
            "default": 2000,
            "description": "Records per REST page (at most 2000) or Bulk result page.",
        },
        "api_version": {"type": ["string", "number"], "description": "Salesforce API version (59.0)."},
        "max_retries": {
            "type": "integer",
            "minimum": 0,
            "maximum": 20,
            "default": 4,
            "description": "Retries of 5xx, 503 and lost connections (lookups use 0: 503 at once).",
        },
    },
}


@dataclass(frozen=True, slots=True)
class SourceOptions:
    """Parsed ``source.options``."""

    object: str
    where: str | None = None
    fields: tuple[str, ...] = ()
    key: str = "Id"
    version: str | None = "SystemModstamp"
    bulk_threshold: int = 10000
    page_size: int = 2000
    api_version: str | None = None
    max_retries: int = 4


def parse_source_options(options: Mapping[str, Any]) -> SourceOptions:
    """Check ``source.options`` (``validate`` checks the same rules through the schema)."""
    unknown = sorted(set(options) - set(SOURCE_OPTIONS_SCHEMA["properties"]))
    if unknown:
        raise ConfigError(
            f"unknown salesforce source option(s): {', '.join(unknown)}",
            hint=f"known options: {', '.join(sorted(SOURCE_OPTIONS_SCHEMA['properties']))}",
        )
    name = options.get("object")
    if not isinstance(name, str) or not name:
        raise ConfigError("source.options.object must name a Salesforce object", hint="e.g. object: Account")
    fields = options.get("fields") or ()
    if not isinstance(fields, list | tuple) or not all(isinstance(item, str) and item for item in fields):
        raise ConfigError("source.options.fields must be a list of field names")
    numbers: dict[str, int] = {}
    limits = (("bulk_threshold", 10000, 1, None), ("page_size", 2000, 200, 50000), ("max_retries", 4, 0, 20))
    for option, default, low, high in limits:
        value = options.get(option, default)
        if (
            isinstance(value, bool)
            or not isinstance(value, int)
            or value < low
            or (high is not None and value > high)
        ):
            raise ConfigError(f"source.options.{option} must be an integer of at least {low}, not {value!r}")
        numbers[option] = value
    version = options.get("version", "SystemModstamp")
    api_version = options.get("api_version")
    return SourceOptions(
        object=name,
        where=options.get("where") or None,
        fields=tuple(fields),
        key=str(options.get("key") or "Id"),
        version=str(version) if version else None,
        bulk_threshold=numbers["bulk_threshold"],
        page_size=numbers["page_size"],
        api_version=str(api_version) if api_version is not None else None,
        max_retries=numbers["max_retries"],
    )
