"""Shared test helpers and hypothesis strategies: JSON documents, specs, existing-record states.

Builders (``expr``, ``value_field``, ``record``, ``make_spec``) construct specs in Python, the
way the loader would, so planner tests need no YAML. :class:`MemoryTarget` is an in-memory
target: it answers lookups as a CRM would (normalizer on its side, records sorted by ``Id``),
applies writes as the target contract says, and applies a whole plan (``apply_plan``), which the
idempotence property needs.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from hypothesis import strategies as st

from fieldline.contracts import (
    ApplyResult,
    LookupRequest,
    LookupResult,
    ObjectDescription,
    SourceDocument,
    TargetBase,
    Write,
    WriteError,
    WriteOperation,
    WriteResult,
)
from fieldline.expressions.compiled import CompiledExpression, FunctionRegistry, compile_expression
from fieldline.expressions.functions import BUILTIN_FUNCTIONS
from fieldline.expressions.normalizers import BUILTIN_NORMALIZERS
from fieldline.planning.planner import resolve_refs
from fieldline.planning.plans import Action, Plan
from fieldline.spec.model import (
    FieldSpec,
    MatchRule,
    Mode,
    Nulls,
    OnMany,
    RecordSpec,
    Spec,
    Strategy,
    Unmapped,
)
from fieldline.values import MISSING

__all__ = [
    "NORMALIZERS",
    "REGISTRY",
    "MemoryTarget",
    "PlanningCase",
    "descriptions",
    "documents",
    "existing_states",
    "expr",
    "json_values",
    "make_spec",
    "match_rule",
    "planning_cases",
    "record",
    "value_field",
    "wild_specs",
]

REGISTRY = FunctionRegistry(BUILTIN_FUNCTIONS)
NORMALIZERS: dict[str, Callable[[Any], Any]] = dict(BUILTIN_NORMALIZERS)


# --- builders ------------------------------------------------------------------------------------


def expr(text: str) -> CompiledExpression:
    """Compile ``text`` with the built-in functions."""
    return compile_expression(text, REGISTRY)


def value_field(name: str, value: str, **options: Any) -> FieldSpec:
    """A field read by a JMESPath expression, with any :class:`FieldSpec` options."""
    return FieldSpec(name=name, value=expr(value), **options)


def match_rule(field_name: str, value: str, *normalize: str) -> MatchRule:
    return MatchRule(field=field_name, value=expr(value), normalize=tuple(normalize))


def record(
    name: str,
    object_name: str,
    fields: Sequence[FieldSpec],
    match: Sequence[MatchRule] = (),
    *,
    for_each: str | None = None,
    when: str | None = None,
    mode: Mode = Mode.UPSERT,
    on_many: OnMany = OnMany.ERROR,
) -> RecordSpec:
    return RecordSpec(
        name=name,
        object=object_name,
        fields=tuple(fields),
        match=tuple(match),
        for_each=expr(for_each) if for_each is not None else None,
        when=expr(when) if when is not None else None,
        mode=mode,
        on_many=on_many,
    )


def make_spec(*records: RecordSpec, name: str = "test") -> Spec:
    return Spec(name=name, records=tuple(records))


# --- in-memory target ----------------------------------------------------------------------------


@dataclass
class MemoryTarget(TargetBase):
    """Records per object, as a CRM holds them. Ids are ``<object>-<n>`` and sort by age."""

    name = "memory"

    records: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    descriptions: Mapping[str, ObjectDescription] = field(default_factory=dict)
    counter: itertools.count[int] = field(default_factory=lambda: itertools.count(1000))

    def lookup(self, requests: Iterable[LookupRequest]) -> LookupResult:
        """Every record whose (normalized) ``field`` equals a requested value."""
        result: dict[tuple[str, str, tuple[str, ...]], dict[Any, list[dict[str, Any]]]] = {}
        for request in requests:
            found: dict[Any, list[dict[str, Any]]] = {}
            for candidate in self.records.get(request.object, []):
                stored = candidate.get(request.field)
                if stored is None or isinstance(stored, dict | list):
                    continue
                if request.normalizer is not None:
                    stored = request.normalizer(stored)
                if stored is None or stored == "":
                    continue
                # a CRM compares typed values: the text '1' never matches the number 1
                for wanted in request.values:
                    if type(wanted) is type(stored) and wanted == stored:
                        found.setdefault(wanted, []).append(dict(candidate))
            for matches in found.values():
                matches.sort(key=lambda item: str(item["Id"]))
            result[(request.object, request.field, request.normalize)] = found
        return result

    def describe(self, object_name: str) -> ObjectDescription:
        return self.descriptions.get(object_name) or ObjectDescription(name=object_name, fields={})

    def apply(self, writes: Sequence[Write]) -> ApplyResult:
        """One result per write (memory has no API budget: it never stops early)."""
        return ApplyResult(tuple(self._write(write) for write in writes))

    def apply_plan(self, plan: Plan) -> None:
        """Write every create and update of ``plan`` through :meth:`apply`, parents first (plan
        order), as the runner would."""
        ids: dict[tuple[str, str], str] = {}
        for record_plan in plan.records:
            if record_plan.target_id is not None:
                ids[(record_plan.record, record_plan.key)] = record_plan.target_id
        for record_plan in plan.records:
            if record_plan.action not in (Action.CREATE, Action.UPDATE):
                continue
            write = Write(
                key=f"{record_plan.record}:{record_plan.key}",
                object=record_plan.object,
                operation=WriteOperation.CREATE
                if record_plan.action is Action.CREATE
                else WriteOperation.UPDATE,
                fields=resolve_refs(record_plan, ids),
                target_id=record_plan.target_id,
            )
            (result,) = self.apply([write]).results
            assert result.ok, f"{write.key}: {result.error}"
            assert result.target_id is not None
            ids[(record_plan.record, record_plan.key)] = result.target_id

    def _write(self, write: Write) -> WriteResult:
        fields = {name: self._stored(write.object, value) for name, value in write.fields.items()}
        bucket = self.records.setdefault(write.object, [])
        if write.operation is WriteOperation.CREATE:
            new_id = f"{write.object}-{next(self.counter)}"
            bucket.append({"Id": new_id, **fields})
            return WriteResult(key=write.key, ok=True, target_id=new_id, created=True)
        wanted = write.target_id
        if write.operation is WriteOperation.UPSERT and write.external_id_field is not None:
            value = fields.get(write.external_id_field)
            wanted = next((str(r["Id"]) for r in bucket if r.get(write.external_id_field) == value), None)
            if wanted is None:
                return self._write(replace(write, operation=WriteOperation.CREATE))
        for existing in bucket:
            if existing["Id"] == wanted:
                existing.update(fields)
                return WriteResult(key=write.key, ok=True, target_id=str(wanted), created=False)
        error = WriteError(code="ENTITY_IS_DELETED", message=f"no {write.object} with Id {wanted!r}")
        return WriteResult(key=write.key, ok=False, error=error)

    def _stored(self, object_name: str, value: Any) -> Any:
        description = self.descriptions.get(object_name)
        if description is not None and description.blank_is_null and value == "":
            return None
        return value


# --- strategies ----------------------------------------------------------------------------------

_TEXT = st.text(alphabet="abcXY 1", max_size=4)
_SCALARS = st.none() | st.booleans() | st.integers(-3, 3) | st.floats(-2, 2, allow_nan=False) | _TEXT


def json_values(max_leaves: int = 8) -> st.SearchStrategy[Any]:
    """Any JSON value (no NaN), small."""
    return st.recursive(
        _SCALARS,
        lambda children: (
            st.lists(children, max_size=3)
            | st.dictionaries(st.sampled_from(["a", "b", "c", "id"]), children, max_size=3)
        ),
        max_leaves=max_leaves,
    )


# Paths the generated specs read; documents put values (or nothing) there.
_PATHS = ("id", "name", "status", "email", "meta.kind")
_KEY_PATHS = ("id", "email")  # match keys: text or null or absent, as source ids are
_STATUSES = ("A", "B", "C", "Z")


@st.composite
def _document_data(draw: st.DrawFn, anything: bool) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for path in _PATHS:
        if draw(st.integers(0, 4)) == 0:
            continue  # absent
        if path in _KEY_PATHS and not anything:
            value: Any = draw(st.none() | st.sampled_from(["k1", "k2", "k3", "K1 ", ""]))
        elif path == "status" and not anything:
            value = draw(st.none() | st.sampled_from(_STATUSES) | st.just(""))
        else:
            value = draw(json_values() if anything else _SCALARS)
        if path == "meta.kind":
            data["meta"] = {"kind": value}
        else:
            data[path] = value
    items = draw(st.lists(st.fixed_dictionaries({"id": st.sampled_from(["i1", "i2", "i3"])}), max_size=3))
    data["items"] = draw(st.just(items) | json_values()) if anything else items
    return data


@st.composite
def documents(draw: st.DrawFn, *, anything: bool = False, max_size: int = 4) -> list[SourceDocument]:
    """Source documents with unique keys. ``anything``: values of every JSON type everywhere
    (for robustness properties); otherwise match keys are text, as source ids are."""
    count = draw(st.integers(0, max_size))
    versions = draw(st.lists(st.none() | st.integers(0, 3).map(float), min_size=count, max_size=count))
    return [
        SourceDocument(key=f"d{index}", data=draw(_document_data(anything)), version=version)
        for index, version in enumerate(versions)
    ]


@st.composite
def _field_specs(draw: st.DrawFn, match_paths: Sequence[tuple[str, str]]) -> list[FieldSpec]:
    fields: list[FieldSpec] = []
    # Match fields are mapped from the same path, so a created record is found again. With a
    # fallback chain they are written once (if_empty / on_create): a record found by its second
    # key must not get its first key rewritten, or the next run would look elsewhere
    # (docs/planning.md, "Match keys").
    key_strategies = [Strategy.IF_EMPTY, Strategy.ON_CREATE]
    if len(match_paths) == 1:
        key_strategies.append(Strategy.OVERRIDE)
    for target_field, path in match_paths:
        fields.append(
            value_field(
                target_field,
                path,
                strategy=draw(st.sampled_from(key_strategies)),
                nulls=draw(st.sampled_from(Nulls)),
            )
        )
    for index in range(draw(st.integers(0, 4))):
        name = f"F{index}__c"
        kind = draw(st.sampled_from(["value", "value", "map", "const", "default"]))
        strategy = draw(st.sampled_from(Strategy))
        nulls = draw(st.sampled_from(Nulls))
        path = draw(st.sampled_from(_PATHS))
        if kind == "const":
            fields.append(FieldSpec(name=name, const=draw(_SCALARS), strategy=strategy, nulls=nulls))
        elif kind == "map":
            unmapped = draw(st.sampled_from(Unmapped))
            fields.append(
                value_field(
                    name,
                    "status",
                    map={"A": "Alpha", "B": "Beta", "true": "Yes"},
                    unmapped=unmapped,
                    unmapped_value="Other" if unmapped is Unmapped.DEFAULT else MISSING,
                    strategy=strategy,
                    nulls=nulls,
                )
            )
        elif kind == "default":
            fields.append(value_field(name, path, default="dflt", strategy=strategy, nulls=nulls))
        else:
            fields.append(value_field(name, path, strategy=strategy, nulls=nulls))
    return fields


@st.composite
def specs(draw: st.DrawFn, *, modes: Sequence[Mode] = tuple(Mode)) -> Spec:
    """A parent record on ``Parent`` and, sometimes, a ``for_each`` child on ``Child`` that
    refs it. Match rules read text keys; each object is written by one record only."""
    rules = draw(
        st.lists(
            st.sampled_from([("Key__c", "id"), ("Email__c", "email")]), min_size=1, max_size=2, unique=True
        )
    )
    normalize = draw(st.sampled_from([(), ("lower",), ("trim", "lower")]))
    parent = record(
        "parent",
        "Parent",
        draw(_field_specs(rules)),
        [match_rule(target_field, path, *normalize) for target_field, path in rules],
        when=draw(st.none() | st.just("id")),
        mode=draw(st.sampled_from(modes)),
        on_many=draw(st.sampled_from(OnMany)),
    )
    records = [parent]
    if draw(st.booleans()):
        child_fields = [
            value_field("Item__c", "id"),
            FieldSpec(name="Parent__c", ref="parent", strategy=draw(st.sampled_from(Strategy))),
        ]
        records.append(
            record(
                "child",
                "Child",
                child_fields,
                [match_rule("Item__c", "id")],
                for_each="items",
                mode=draw(st.sampled_from(modes)),
                on_many=draw(st.sampled_from(OnMany)),
            )
        )
    return make_spec(*records)


# Expressions that may fail, or give any type, on documents of any shape.
_WILD_EXPRESSIONS = (
    "id",
    "name",
    "meta.kind",
    "items",
    "items[0].id",
    "upper(name)",
    "lower(meta.kind)",
    "to_number(name)",
    "length(items)",
    "join(',', items)",
    "coalesce(name, id, 'x')",
    "root().id",
    "root_domain(email)",
    "status == 'A'",
    "@",
)
_WILD_NORMALIZERS = ((), ("lower",), ("email",), ("root_domain",), ("digits", "trim"), ("no_such",))


@st.composite
def wild_specs(draw: st.DrawFn) -> Spec:
    """Specs with arbitrary expressions, normalizers (one unknown), maps and for_each/ref
    combinations: for robustness properties, not for idempotence."""
    expressions = st.sampled_from(_WILD_EXPRESSIONS)
    records: list[RecordSpec] = []
    for index in range(draw(st.integers(1, 3))):
        fields: list[FieldSpec] = []
        for number in range(draw(st.integers(0, 3))):
            options: dict[str, Any] = {
                "strategy": draw(st.sampled_from(Strategy)),
                "nulls": draw(st.sampled_from(Nulls)),
            }
            if draw(st.booleans()):
                options["map"] = {"A": "a", "true": True, "1": 1}
                options["unmapped"] = draw(st.sampled_from(Unmapped))
                options["unmapped_value"] = "u"
            if draw(st.booleans()):
                options["default"] = draw(_SCALARS)
            fields.append(value_field(f"F{number}", draw(expressions), **options))
        if len(records) > 0 and draw(st.booleans()):
            fields.append(FieldSpec(name="Parent__c", ref=draw(st.sampled_from([r.name for r in records]))))
        rules = [
            match_rule(f"M{number}", draw(expressions), *draw(st.sampled_from(_WILD_NORMALIZERS)))
            for number in range(draw(st.integers(0, 2)))
        ]
        records.append(
            record(
                f"r{index}",
                f"O{index}",
                fields,
                rules,
                for_each=draw(st.none() | st.sampled_from(["items", "items[]", "name", "meta"])),
                when=draw(st.none() | expressions),
                mode=draw(st.sampled_from(Mode)),
                on_many=draw(st.sampled_from(OnMany)),
            )
        )
    return make_spec(*records)


@st.composite
def existing_states(draw: st.DrawFn) -> dict[str, list[dict[str, Any]]]:
    """Existing ``Parent`` and ``Child`` records, some sharing keys (duplicates happen)."""
    ids = itertools.count(1)
    state: dict[str, list[dict[str, Any]]] = {}
    for object_name, key_fields, key_values in (
        ("Parent", ("Key__c", "Email__c"), ["k1", "k2", "k3", "K1", "x"]),
        ("Child", ("Item__c",), ["i1", "i2", "i3"]),
    ):
        records: list[dict[str, Any]] = []
        for _ in range(draw(st.integers(0, 3))):
            stored: dict[str, Any] = {"Id": f"{object_name}-{next(ids):03d}"}
            for key_field in key_fields:
                if draw(st.booleans()):
                    stored[key_field] = draw(st.sampled_from(key_values))
            for index in range(4):
                if draw(st.booleans()):
                    stored[f"F{index}__c"] = draw(_SCALARS)
            records.append(stored)
        state[object_name] = records
    return state


@dataclass(frozen=True)
class PlanningCase:
    spec: Spec
    documents: list[SourceDocument]
    state: dict[str, list[dict[str, Any]]]
    descriptions: dict[str, ObjectDescription]


@st.composite
def descriptions(draw: st.DrawFn) -> dict[str, ObjectDescription]:
    """What the target says about ``Parent`` and ``Child``: Salesforce-like (``""`` is null)
    or not, or nothing at all."""
    if draw(st.booleans()):
        return {}
    blank_is_null = draw(st.booleans())
    return {
        name: ObjectDescription(name=name, fields={}, blank_is_null=blank_is_null)
        for name in ("Parent", "Child")
    }


def planning_cases(*, modes: Sequence[Mode] = tuple(Mode)) -> st.SearchStrategy[PlanningCase]:
    """A spec, documents for it, an existing state and the target's descriptions: one batch."""
    return st.builds(PlanningCase, specs(modes=modes), documents(), existing_states(), descriptions())
