"""Named lookups of a spec: find one record by an index field and return its fields.

The ``lookups`` block of a spec, checked (:func:`check_lookups`) and built
(:func:`build_lookups`) beside the records. A lookup's allow-list uses the usual field forms,
read over the found record; :func:`record_fields` says which of the record's fields they read,
so the one ``SELECT`` of a lookup asks for exactly those.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field as dataclass_field
from typing import TYPE_CHECKING, Any

from fieldline.contracts import FieldDescription, ObjectDescription
from fieldline.spec.model import FieldSpec, Location

if TYPE_CHECKING:
    from fieldline.spec.checks import SpecChecker
    from fieldline.spec.positions import PathKey

__all__ = [
    "LookupOnMany",
    "LookupSpec",
    "build_lookups",
    "check_lookups",
    "expression_fields",
    "record_fields",
]

DEFAULT_MAX_LENGTH = 255


class LookupOnMany(enum.StrEnum):
    """What a lookup answers when several records match."""

    ERROR = "error"  # 409 with the matching ids
    FIRST = "first"  # the lowest id
    NEWEST = "newest"  # the most recently modified


@dataclass(frozen=True, slots=True)
class LookupSpec:
    """One named lookup. ``fields`` is ``None`` for ``fields: all``."""

    name: str
    object: str
    index_field: str
    fields: tuple[FieldSpec, ...] | None
    normalize: tuple[str, ...] = ()
    on_many: LookupOnMany = LookupOnMany.ERROR
    cache_ttl: float = 0.0
    max_length: int = DEFAULT_MAX_LENGTH
    adapter: str = "salesforce"
    location: Location = dataclass_field(default_factory=Location)


def _paths(node: Any, found: list[str]) -> None:
    """Add the record fields a parsed JMESPath reads from its root (``Owner.Name`` as a path)."""
    if not isinstance(node, Mapping):
        return
    kind = node.get("type")
    children = node.get("children") or []
    if kind == "field":
        found.append(str(node["value"]))
    elif kind == "subexpression":
        names = [child.get("value") for child in children if isinstance(child, Mapping)]
        if all(isinstance(child, Mapping) and child.get("type") == "field" for child in children):
            found.append(".".join(str(name) for name in names))
        elif children:
            _paths(children[0], found)  # the rest reads the first part's result, not the record
    elif kind in {
        "index_expression",
        "projection",
        "value_projection",
        "filter_projection",
        "flatten",
        "pipe",
    }:
        if children:
            _paths(children[0], found)
    elif kind in {"expref", "literal", "current", "identity"}:
        return
    else:  # functions, comparisons, and/or/not, multi-selects: every child reads the record
        for child in children:
            _paths(child, found)


def expression_fields(parsed: Any) -> list[str]:
    """The record fields (``Name``, ``Owner.Name``) a parsed expression reads, in order, once each."""
    found: list[str] = []
    _paths(parsed, found)
    return list(dict.fromkeys(found))


def record_fields(lookup: LookupSpec) -> tuple[str, ...]:
    """The record fields the allow-list reads (empty for ``fields: all``)."""
    if lookup.fields is None:
        return ()
    names: list[str] = []
    for spec_field in lookup.fields:
        if spec_field.value is not None:
            names.extend(expression_fields(spec_field.value.parsed))
    return tuple(dict.fromkeys(names))


def relationship_field(description: ObjectDescription, relationship: str) -> FieldDescription | None:
    """The reference field behind a relationship name: ``Parent`` is ``ParentId``,
    ``Owner__r`` is ``Owner__c``; ``None`` when the object has none."""
    lowered = relationship.lower()
    name = f"{relationship[:-3]}__c" if lowered.endswith("__r") else f"{relationship}Id"
    found = description.field(name)
    return found if found is not None and found.type.is_id else None


# --- checking -----------------------------------------------------------------------------


def check_lookups(checker: SpecChecker, data: Mapping[str, Any]) -> None:
    """Report what the schema cannot say about ``lookups``: expressions that do not compile,
    unknown normalizers, and field forms that mean nothing for a read (``ref``, ``strategy``)."""
    lookups = data.get("lookups")
    if not isinstance(lookups, Mapping):
        return
    for name, raw in lookups.items():
        if not isinstance(raw, Mapping):
            continue
        path: PathKey = ("lookups", name)
        index = raw.get("index")
        if isinstance(index, Mapping):
            normalize = index.get("normalize")
            names = (
                [normalize]
                if isinstance(normalize, str)
                else normalize
                if isinstance(normalize, list)
                else []
            )
            for i, normalizer in enumerate(names):
                if isinstance(normalizer, str):
                    where = (
                        (*path, "index", "normalize")
                        if isinstance(normalize, str)
                        else (*path, "index", "normalize", i)
                    )
                    checker.check_normalizer(normalizer, where)
        fields = raw.get("fields")
        if not isinstance(fields, Mapping):
            continue
        for output, form in fields.items():
            field_path: PathKey = (*path, "fields", output)
            if isinstance(form, str):
                checker.expression(field_path, form)
                continue
            if not isinstance(form, Mapping):
                continue
            checker.expression((*field_path, "value"), form.get("value"))
            for option in ("ref", "strategy", "nulls"):
                if option in form:
                    checker.report(
                        (*field_path, option),
                        f"{option} has no meaning in a lookup, which only reads",
                        hint="use value, const, map, unmapped or default",
                        at_key=True,
                    )
            if "unmapped" in form and "map" not in form:
                checker.report(
                    (*field_path, "unmapped"),
                    "unmapped has no map to apply to",
                    hint="add a map, or remove unmapped",
                    at_key=True,
                )


# --- building -----------------------------------------------------------------------------


def build_lookups(
    data: Mapping[str, Any],
    build_field: Callable[[str, Any, PathKey], FieldSpec],
    locate: Callable[[PathKey], Location],
) -> Mapping[str, LookupSpec]:
    """The checked ``lookups`` block as :class:`LookupSpec` values, by name."""
    built: dict[str, LookupSpec] = {}
    for name, raw in (data.get("lookups") or {}).items():
        path: PathKey = ("lookups", name)
        index = raw["index"]
        normalize: Any = index.get("normalize") if isinstance(index, Mapping) else None
        fields = raw["fields"]
        built[name] = LookupSpec(
            name=name,
            object=raw["object"],
            index_field=index["field"] if isinstance(index, Mapping) else index,
            fields=None
            if fields == "all"
            else tuple(
                build_field(output, form, (*path, "fields", output)) for output, form in fields.items()
            ),
            normalize=()
            if normalize is None
            else (normalize,)
            if isinstance(normalize, str)
            else tuple(normalize),
            on_many=LookupOnMany(raw.get("on_many", LookupOnMany.ERROR.value)),
            cache_ttl=float(raw.get("cache_ttl") or 0.0),
            max_length=int(raw.get("max_length", DEFAULT_MAX_LENGTH)),
            adapter=str(raw.get("adapter") or "salesforce"),
            location=locate(path),
        )
    return built
