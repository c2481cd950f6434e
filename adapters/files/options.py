"""The options both files adapters share: a ``path`` relative to the spec, and their own extras."""

from __future__ import annotations

from typing import Any

__all__ = ["path_options_schema"]


def path_options_schema(path_description: str, **properties: Any) -> dict[str, Any]:
    """The JSON Schema of options holding a required ``path`` (resolved against the spec's
    folder) and the adapter's other ``properties``; nothing else is allowed."""
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["path"],
        "properties": {"path": {"type": "string", "description": path_description}, **properties},
    }
