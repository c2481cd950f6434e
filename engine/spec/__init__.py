"""The mapping spec: load YAML/JSON with positions, the typed model, its JSON Schema, checks,
hints and located problems."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fieldline.exports import resolve

if TYPE_CHECKING:
    from fieldline.spec.against_target import (
        check_against_target,
    )
    from fieldline.spec.json_schema import (
        mapping_schema,
        mapping_schema_text,
    )
    from fieldline.spec.loader import (
        LoadResult,
        analyze_spec_text,
        check_spec_file,
        load_spec,
        load_spec_text,
        read_spec_file,
    )
    from fieldline.spec.model import (
        AdapterSpec,
        FieldSpec,
        Location,
        MatchRule,
        Mode,
        Nulls,
        OnMany,
        RecordSpec,
        Spec,
        Strategy,
        Unmapped,
    )

_EXPORTS = {
    "AdapterSpec": "fieldline.spec.model",
    "FieldSpec": "fieldline.spec.model",
    "LoadResult": "fieldline.spec.loader",
    "Location": "fieldline.spec.model",
    "MatchRule": "fieldline.spec.model",
    "Mode": "fieldline.spec.model",
    "Nulls": "fieldline.spec.model",
    "OnMany": "fieldline.spec.model",
    "RecordSpec": "fieldline.spec.model",
    "Spec": "fieldline.spec.model",
    "Strategy": "fieldline.spec.model",
    "Unmapped": "fieldline.spec.model",
    "analyze_spec_text": "fieldline.spec.loader",
    "check_against_target": "fieldline.spec.against_target",
    "check_spec_file": "fieldline.spec.loader",
    "load_spec": "fieldline.spec.loader",
    "load_spec_text": "fieldline.spec.loader",
    "mapping_schema": "fieldline.spec.json_schema",
    "mapping_schema_text": "fieldline.spec.json_schema",
    "read_spec_file": "fieldline.spec.loader",
}
__all__ = [
    "AdapterSpec",
    "FieldSpec",
    "LoadResult",
    "Location",
    "MatchRule",
    "Mode",
    "Nulls",
    "OnMany",
    "RecordSpec",
    "Spec",
    "Strategy",
    "Unmapped",
    "analyze_spec_text",
    "check_against_target",
    "check_spec_file",
    "load_spec",
    "load_spec_text",
    "mapping_schema",
    "mapping_schema_text",
    "read_spec_file",
]


def __getattr__(name: str) -> Any:
    return resolve(__name__, _EXPORTS, name)
