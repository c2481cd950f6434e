"""The mapping spec: load YAML/JSON with positions, the typed model, its JSON Schema, checks,
hints and located problems."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fieldline.exports import exported, resolve

if TYPE_CHECKING:
    from fieldline.spec.against_target import check_against_target as check_against_target
    from fieldline.spec.json_schema import (
        mapping_schema as mapping_schema,
        mapping_schema_text as mapping_schema_text,
    )
    from fieldline.spec.loader import (
        LoadResult as LoadResult,
        analyze_spec_text as analyze_spec_text,
        check_spec_file as check_spec_file,
        load_spec as load_spec,
        load_spec_text as load_spec_text,
        read_spec_file as read_spec_file,
    )
    from fieldline.spec.model import (
        AdapterSpec as AdapterSpec,
        FieldSpec as FieldSpec,
        Location as Location,
        MatchRule as MatchRule,
        Mode as Mode,
        Nulls as Nulls,
        OnMany as OnMany,
        RecordSpec as RecordSpec,
        Spec as Spec,
        Strategy as Strategy,
        Unmapped as Unmapped,
    )

__all__ = exported(__file__)


def __getattr__(name: str) -> Any:
    return resolve(__name__, __file__, name)
