"""The spec's ``target.options`` for Salesforce: JSON Schema and parsed values."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from fieldline.adapters.salesforce.settings import normalize_api_version
from fieldline.errors import ConfigError

__all__ = ["OPTIONS_SCHEMA", "TargetOptions", "parse_options"]

MAX_COLLECTION_SIZE: Final = 200  # sObject Collections take at most 200 records per call
DEFAULT_WRITE_WINDOW: Final = 30_000

OPTIONS_SCHEMA: Final[Mapping[str, Any]] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "api_version": {
            "type": ["string", "number"],
            "pattern": r"^v?\d+(\.\d+)?$",
            "description": "REST API version, e.g. 59.0 (default: the connection setting, else 59.0).",
        },
        "batch_size": {
            "type": "integer",
            "minimum": 1,
            "maximum": MAX_COLLECTION_SIZE,
            "default": MAX_COLLECTION_SIZE,
            "description": "Records per sObject Collections call (at most 200).",
        },
        "bulk_threshold": {
            "type": "integer",
            "minimum": 1,
            "default": 6000,
            "description": "Above this many writes to one object in one apply, use Bulk API 2.0.",
        },
        "write_window": {
            "type": "integer",
            "minimum": 0,
            "default": DEFAULT_WRITE_WINDOW,
            "description": "sync gathers up to this many planned writes from several batches before "
            "sending them, so large runs go through a few Bulk API 2.0 jobs (0: send each batch).",
        },
        "describe_cache_seconds": {
            "type": "number",
            "minimum": 0,
            "default": 3600,
            "description": "Reuse an object's describe kept by an earlier run for this long (0: describe "
            "every run); a problem the kept describe could explain describes it again.",
        },
        "budget_share": {
            "type": "number",
            "exclusiveMinimum": 0,
            "maximum": 1,
            "description": "Cap the run at this share of the org's remaining daily API calls.",
        },
        "match_index": {
            "enum": ["auto", "always", "never"],
            "default": "auto",
            "description": "Match normalized keys (root_domain, ...) from an index of the object read "
            "once per run (auto: unless the object is far larger than the run's keys).",
        },
        "max_retries": {
            "type": "integer",
            "minimum": 0,
            "maximum": 20,
            "default": 4,
            "description": "Retries for lock errors, 5xx and 503 Retry-After before giving up.",
        },
    },
}


@dataclass(frozen=True, slots=True)
class TargetOptions:
    """Parsed ``target.options``."""

    api_version: str | None = None
    batch_size: int = MAX_COLLECTION_SIZE
    bulk_threshold: int = 6000
    write_window: int = DEFAULT_WRITE_WINDOW
    describe_cache_seconds: float = 3600.0
    budget_share: float | None = None
    max_retries: int = 4
    match_index: str = "auto"


def _integer(options: Mapping[str, Any], name: str, default: int, low: int, high: int | None) -> int:
    value = options.get(name, default)
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or value < low
        or (high is not None and value > high)
    ):
        limit = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise ConfigError(f"target.options.{name} must be an integer {limit}, not {value!r}")
    return value


def parse_options(options: Mapping[str, Any] | None) -> TargetOptions:
    """Check and parse spec options (``validate`` checks the same rules via the schema)."""
    options = dict(options or {})
    unknown = sorted(set(options) - set(OPTIONS_SCHEMA["properties"]))
    if unknown:
        raise ConfigError(
            f"unknown salesforce target option(s): {', '.join(unknown)}",
            hint=f"known options: {', '.join(sorted(OPTIONS_SCHEMA['properties']))}",
        )
    share = options.get("budget_share")
    if share is not None and (
        isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 < share <= 1
    ):
        raise ConfigError(f"target.options.budget_share must be a number in (0, 1], not {share!r}")
    version = options.get("api_version")
    return TargetOptions(
        api_version=normalize_api_version(version) if version is not None else None,
        batch_size=_integer(options, "batch_size", MAX_COLLECTION_SIZE, 1, MAX_COLLECTION_SIZE),
        bulk_threshold=_integer(options, "bulk_threshold", 6000, 1, None),
        write_window=_integer(options, "write_window", DEFAULT_WRITE_WINDOW, 0, None),
        describe_cache_seconds=_seconds(options.get("describe_cache_seconds", 3600.0)),
        budget_share=float(share) if share is not None else None,
        max_retries=_integer(options, "max_retries", 4, 0, 20),
        match_index=_match_index(options.get("match_index", "auto")),
    )


def _seconds(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
        raise ConfigError(f"target.options.describe_cache_seconds must be a number >= 0, not {value!r}")
    return float(value)


def _match_index(value: Any) -> str:
    allowed = OPTIONS_SCHEMA["properties"]["match_index"]["enum"]
    if value not in allowed:
        raise ConfigError(f"target.options.match_index must be one of {', '.join(allowed)}, not {value!r}")
    return str(value)
