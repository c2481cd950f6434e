"""The files adapters' options: a ``path`` relative to the spec, and each one's own extras.

They live apart from the adapters so registering the plugin (every command does) imports no
adapter code.
"""

from __future__ import annotations

from typing import Any

from fieldline.contracts import FieldType

__all__ = ["SOURCE_OPTIONS_SCHEMA", "TARGET_OPTIONS_SCHEMA", "path_options_schema"]


def path_options_schema(path_description: str, **properties: Any) -> dict[str, Any]:
    """The JSON Schema of options holding a required ``path`` (resolved against the spec's
    folder) and the adapter's other ``properties``; nothing else is allowed."""
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["path"],
        "properties": {"path": {"type": "string", "description": path_description}, **properties},
    }


SOURCE_OPTIONS_SCHEMA = path_options_schema(
    "A .jsonl, .json (a list of objects) or .csv file, relative to the spec.",
    format={"enum": ["jsonl", "json", "csv"], "description": "Defaults to the file extension."},
    key={
        "type": "string",
        "default": "id",
        "description": "Expression for each document's key (JMESPath and the spec's functions, e.g. "
        "root_domain(website)); the line number when it gives null.",
    },
    version={
        "type": "string",
        "description": "JMESPath for a document's version (a number, e.g. an update time).",
    },
)

_FIELD_TYPE_SCHEMA: dict[str, Any] = {
    "enum": list(FieldType.names()),
    "description": "The field type, as Salesforce names it (string, double, boolean, date, ...).",
}
_FIELD_SCHEMA: dict[str, Any] = {
    "oneOf": [
        _FIELD_TYPE_SCHEMA,
        {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "type": _FIELD_TYPE_SCHEMA,
                "required": {"type": "boolean"},
                "external_id": {"type": "boolean"},
                "unique": {"type": "boolean"},
                "length": {"type": "integer", "minimum": 1},
                "picklist": {"type": "array", "items": {"type": "string"}},
                "reference_to": {"type": "array", "items": {"type": "string"}},
                "createable": {"type": "boolean"},
                "updateable": {"type": "boolean"},
            },
        },
    ]
}

TARGET_OPTIONS_SCHEMA = path_options_schema(
    "A .json state file or a folder of <Object>.jsonl files, relative to the spec.",
    objects={
        "type": "object",
        "description": "Optional field descriptions per object; objects not listed are free-form.",
        "additionalProperties": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"fields": {"type": "object", "additionalProperties": _FIELD_SCHEMA}},
        },
    },
)
