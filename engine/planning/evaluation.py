"""Evaluate a spec over source documents: what each target record should look like.

Pure: ``evaluate(spec, documents, normalizers=...)`` reads nothing but its arguments. Every
expression failure becomes the ``error`` of the one intent it concerns, so a bad document never
stops a batch and no exception other than a :class:`~fieldline.errors.FieldlineError` subclass
leaves this module (and those only for a broken spec, never for a document).

The spec is turned into a small "program" per record first (field getters, normalizer chains,
map tables), so the per-document loop does no dispatch on spec shape.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from fieldline.contracts import SourceDocument
from fieldline.errors import EvaluationError, FieldlineError
from fieldline.expressions.compiled import CompiledExpression, document_scope
from fieldline.planning.intents import FieldIntent, Intent, MatchKey, Ref
from fieldline.spec.model import FieldSpec, MatchRule, RecordSpec, Spec, Unmapped
from fieldline.values import MISSING

__all__ = ["UNMAPPED_SKIPPED_NOTE", "compose_normalizers", "evaluate", "is_truthy", "slot_builder"]

UNMAPPED_SKIPPED_NOTE = "unmapped value skipped"
"""Start of the ``note`` of a field left out by ``unmapped: skip`` (the planner reports it)."""

Normalizer = Callable[[Any], Any]
_Getter = Callable[[Any], Any]


_T = TypeVar("_T")


def slot_builder(cls: type[_T]) -> Callable[..., _T]:
    """A constructor for a frozen, slotted dataclass that stores each field in its slot directly.

    Same arguments (positional or keyword, same defaults) and an equal result as ``cls(...)``,
    at about half the cost: a frozen dataclass's ``__init__`` goes through
    ``object.__setattr__`` for every field, and evaluate/plan build one value per field of
    every record. Falls back to ``cls`` itself for anything it cannot mirror exactly (a
    ``__post_init__``, a ``default_factory``, a field outside ``__init__``, no slots).
    """
    if not dataclasses.is_dataclass(cls) or "__slots__" not in cls.__dict__:
        return cls
    if hasattr(cls, "__post_init__") or not cls.__dataclass_params__.init:  # type: ignore[attr-defined]
        return cls
    namespace: dict[str, Any] = {"_new": object.__new__, "_cls": cls}
    parameters: list[str] = []
    body = ["    self = _new(_cls)"]
    for field in dataclasses.fields(cls):
        if not field.init or field.default_factory is not dataclasses.MISSING:
            return cls
        if field.default is dataclasses.MISSING:
            parameters.append(field.name)
        else:
            namespace[f"_default_{field.name}"] = field.default
            parameters.append(f"{field.name}=_default_{field.name}")
        namespace[f"_set_{field.name}"] = cls.__dict__[field.name].__set__
        body.append(f"    _set_{field.name}(self, {field.name})")
    source = f"def build({', '.join(parameters)}):\n" + "\n".join(body) + "\n    return self\n"
    exec(source, namespace)  # the way dataclasses builds __init__: names come from fields()
    build: Callable[..., _T] = namespace["build"]
    return build


_new_field_intent = slot_builder(FieldIntent)
_new_intent = slot_builder(Intent)
_new_match_key = slot_builder(MatchKey)
_new_ref = slot_builder(Ref)


def evaluate(
    spec: Spec,
    documents: Iterable[SourceDocument],
    *,
    normalizers: Mapping[str, Callable[[Any], Any]],
) -> list[Intent]:
    """Every intent of every document: documents in order, then records in spec order.

    A record whose ``when`` is false gives no intent; a ``for_each`` record gives one per
    element (key ``<document key>[i]``). See ``docs/planning.md`` for the full semantics.
    """
    programs = [_RecordProgram(record, spec, normalizers) for record in spec.records]
    intents: list[Intent] = []
    for document in documents:
        # record name -> keys it produced for this document (None: the record's `when` was false)
        produced: dict[str, set[str] | None] = {}
        for program in programs:
            produced[program.name] = program.run(document, produced, intents)
    return intents


def is_truthy(value: Any) -> bool:
    """JMESPath truthiness: ``false``, ``null``, ``""``, ``[]`` and ``{}`` are false (0 is true)."""
    if value is None or value is False or value is MISSING:
        return False
    if isinstance(value, str | list | dict):
        return len(value) > 0
    return True


def compose_normalizers(
    names: tuple[str, ...], normalizers: Mapping[str, Callable[[Any], Any]]
) -> Callable[[Any], Any] | None:
    """One callable applying the named normalizers in order (``None`` for an empty chain).

    A step returning ``None`` ends the chain with ``None`` (the value cannot be a key). Raises
    :class:`EvaluationError` naming an unknown normalizer.
    """
    if not names:
        return None
    steps: list[Normalizer] = []
    for name in names:
        step = normalizers.get(name)
        if step is None:
            known = ", ".join(sorted(normalizers)) or "none"
            raise EvaluationError(
                f"unknown normalizer {name!r}",
                hint=f"use one of: {known}, or install the plugin that provides it",
                normalizer=name,
            )
        steps.append(step)
    if len(steps) == 1:
        return steps[0]

    def chain(value: Any) -> Any:
        for step in steps:
            if value is None:
                return None
            value = step(value)
        return value

    return chain


# --- compiled spec ---------------------------------------------------------------------------


def _getter(expression: CompiledExpression, *, missing: bool) -> _Getter:
    """``expression.search_or_missing`` if ``missing`` (absent reads as ``MISSING``), else ``search``.

    Both are specialised for plain field paths at compile time (a ``dict.get`` walk), so this
    module keeps no fast path of its own.
    """
    return expression.search_or_missing if missing else expression.search


def _json_text(value: Any) -> str:
    """The ``map`` key a non-text value is looked up by: its JSON text, whole floats as integers
    (JSON has one number type: ``10.0`` finds the entry ``"10"``)."""
    if value.__class__ is float and value.is_integer():
        value = int(value)
    return json.dumps(value, sort_keys=True, default=str)


# kinds of field programs
_PLAIN = "plain"  # a value expression, no map, no default: the hot path
_VALUE = "value"  # a value expression with map and/or default
_CONST = "const"
_REF = "ref"
_SHARED_VALUES = 64  # a plain field with more distinct values than this is not worth sharing


class _FieldProgram:
    """How to compute one field's :class:`FieldIntent` from a context.

    Intents are immutable, so the ones that do not depend on the document (a ``const``, a
    ``default``, each mapped value) are built once and shared.
    """

    __slots__ = (
        "cache",
        "const_intent",
        "default_intent",
        "getter",
        "kind",
        "map",
        "name",
        "nulls",
        "only",
        "ref",
        "shared",
        "source",
        "strategy",
        "unmapped",
        "unmapped_value",
    )

    def __init__(self, field: FieldSpec) -> None:
        self.name = field.name
        self.strategy = field.strategy
        self.nulls = field.nulls
        self.source = field.source_text
        self.ref = field.ref
        self.unmapped = field.unmapped
        self.unmapped_value = field.unmapped_value
        self.getter: _Getter | None = None
        # the key of a one-step path (`id`), read inline by the record's loop
        self.only: str | None = None
        self.const_intent: FieldIntent | None = None
        self.default_intent: FieldIntent | None = None
        if field.ref is not None:
            self.kind = _REF
        elif field.value is not None:
            self.getter = _getter(field.value, missing=True)
            parsed = field.value.parsed
            if parsed["type"] == "field":  # a one-step path; longer ones are subexpressions
                self.only = parsed["value"]
            plain = field.map is None and field.default is MISSING
            self.kind = _PLAIN if plain else _VALUE
            if field.default is not MISSING:
                self.default_intent = self._field_intent(field.default, "default used")
        else:
            self.kind = _CONST
            self.const_intent = self._field_intent(field.const, None)
        self.map: dict[str, Any] | None = None
        if field.map is not None:
            self.map = {
                (key if isinstance(key, str) else _json_text(key)): mapped
                for key, mapped in field.map.items()
            }
        # text source value -> its mapped intent; filled only with values found in `map`, so it
        # stays as small as the map itself
        self.cache: dict[str, FieldIntent] = {}
        # text value -> its intent, for plain fields with few distinct values (countries,
        # product names): sharing saves building the same immutable intent thousands of times.
        # Dropped for good once the field proves to have many values (ids, names).
        self.shared: dict[str, FieldIntent] | None = {} if self.kind is _PLAIN else None

    def share(self, value: str) -> FieldIntent:
        """The intent for a text ``value`` of a plain field, remembered while few are seen."""
        intent = self._field_intent(value, None)
        shared = self.shared
        if shared is not None:
            if len(shared) >= _SHARED_VALUES:
                self.shared = None
            else:
                shared[value] = intent
        return intent

    def _field_intent(self, value: Any, note: str | None, *, unmapped_skipped: bool = False) -> FieldIntent:
        return _new_field_intent(
            self.name, value, self.strategy, self.nulls, self.source, note, unmapped_skipped
        )

    def compute(self, context: Any, record: str) -> FieldIntent:
        """The field's intent for a map/default/const field. Raises :class:`FieldlineError`."""
        if self.const_intent is not None:
            return self.const_intent
        getter = self.getter
        if getter is None:  # a ref field: computed by the record, never here
            return self._field_intent(MISSING, None)
        value = getter(context)
        if value is MISSING or value is None:
            if self.default_intent is not None:
                return self.default_intent
            return self._field_intent(value, None)
        table = self.map
        if table is None:
            return self._field_intent(value, None)
        # True, 1 and 1.0 are equal Python keys but different map keys: only text is cached
        is_text = type(value) is str
        if is_text:
            cached = self.cache.get(value)
            if cached is not None:
                return cached
        lookup = value if is_text else _json_text(value)
        if lookup in table:
            mapped = table[lookup]
            intent = self._field_intent(mapped, f"map {value!r} -> {mapped!r}")
            if is_text:
                self.cache[value] = intent
            return intent
        if self.unmapped is Unmapped.KEEP:
            return self._field_intent(value, f"unmapped {value!r} kept")
        if self.unmapped is Unmapped.SKIP:
            return self._field_intent(MISSING, f"{UNMAPPED_SKIPPED_NOTE}: {value!r}", unmapped_skipped=True)
        if self.unmapped is Unmapped.DEFAULT:
            return self._field_intent(self.unmapped_value, f"unmapped {value!r} -> {self.unmapped_value!r}")
        raise _UnmappedError(
            f"records.{record}: {self.name}: value {value!r} is not in map; "
            "add it to map or set unmapped: keep|skip|{const: X}"
        )


class _UnmappedError(EvaluationError):
    """A value with no ``map`` entry under ``unmapped: error``; its message is final."""


class _MatchProgram:
    __slots__ = ("error", "field", "getter", "normalize", "normalizer", "text")

    def __init__(self, rule: MatchRule, normalizers: Mapping[str, Normalizer]) -> None:
        self.field = rule.field
        self.normalize = rule.normalize
        self.text = rule.value.text
        self.getter = _getter(rule.value, missing=False)
        self.error: EvaluationError | None = None
        try:
            self.normalizer = compose_normalizers(rule.normalize, normalizers)
        except EvaluationError as exc:
            # reported on every intent of the record rather than failing the whole batch
            self.normalizer = None
            self.error = exc

    def key(self, context: Any) -> MatchKey:
        if self.error is not None:
            raise self.error
        raw = self.getter(context)
        value = raw
        if self.normalizer is not None and raw is not None:
            if isinstance(raw, list | dict):  # before normalizing: a normalizer may map it to None
                raise _not_a_key(raw)
            try:
                value = self.normalizer(raw)
            except FieldlineError:
                raise
            except Exception as exc:  # a plugin normalizer failed: report it on this record
                raise EvaluationError(
                    f"normalizer {'|'.join(self.normalize)} failed on {raw!r}: {type(exc).__name__}: {exc}"
                ) from exc
        if value.__class__ is str:
            if value == "":
                value = None
        elif value is MISSING:
            value = None
        elif isinstance(value, list | dict):
            raise _not_a_key(raw)
        return _new_match_key(self.field, value, raw, self.normalize)


def _not_a_key(raw: Any) -> EvaluationError:
    return EvaluationError(
        f"match value {raw!r} is a {type(raw).__name__}; a match key must be a string, number or boolean",
        hint="pick one element in the match expression",
    )


class _RecordProgram:
    """One record of the spec, ready to run over documents."""

    def __init__(self, record: RecordSpec, spec: Spec, normalizers: Mapping[str, Normalizer]) -> None:
        self.record = record
        self.name = record.name
        self.object = record.object
        self.mode = record.mode
        self.on_many = record.on_many
        self.fields = tuple(_FieldProgram(field) for field in record.fields)
        self.match = tuple(_MatchProgram(rule, normalizers) for rule in record.match)
        self.when = _getter(record.when, missing=False) if record.when is not None else None
        self.when_text = record.when.text if record.when is not None else ""
        self.for_each = _getter(record.for_each, missing=False) if record.for_each is not None else None
        self.for_each_text = record.for_each.text if record.for_each is not None else None
        # binding the document for root() costs a context switch per document: only when used
        expressions = [field.value for field in record.fields if field.value is not None]
        expressions += [rule.value for rule in record.match]
        self.needs_root = any(getattr(expression, "needs_root", True) for expression in expressions)
        # parents this record refs: name -> the parent's for_each text (or None), or a problem
        earlier = {
            other.name: other for other in spec.records[: spec.records.index(record)] if other is not record
        }
        self.parents: dict[str, RecordSpec | str] = {}
        self.document_level_parents: set[str] = set()
        # ref field name -> its intent for the current document (see document_level_parents)
        self.document_refs: dict[str, FieldIntent] = {}
        for field in record.fields:
            if field.ref is None:
                continue
            parent = earlier.get(field.ref)
            if parent is not None:
                self.parents[field.ref] = parent
                if parent.for_each is None:
                    self.document_level_parents.add(field.ref)
            elif spec.record_named(field.ref) is not None:
                self.parents[field.ref] = (
                    f"ref {field.ref!r} names a record that comes later in the spec; "
                    "move the parent record before this one"
                )
            else:
                self.parents[field.ref] = (
                    f"ref {field.ref!r} names no record of this spec; use the name of an earlier record"
                )

    def run(
        self,
        document: SourceDocument,
        produced: Mapping[str, set[str] | None],
        intents: list[Intent],
    ) -> set[str] | None:
        """Append this record's intents for ``document``; return the keys produced."""
        data = document.data
        if self.document_refs:
            self.document_refs = {}
        if self.when is not None:
            try:
                condition = self.when(data)
            except FieldlineError as exc:
                intents.append(self._failed(document, document.key, f"when: {_message(exc)}"))
                return {document.key}
            if not is_truthy(condition):
                return None
        if self.for_each is None:
            intents.append(self._intent(document, data, document.key, produced))
            return {document.key}
        try:
            elements = self.for_each(data)
        except FieldlineError as exc:
            intents.append(self._failed(document, document.key, f"for_each: {_message(exc)}"))
            return {document.key}
        if elements is None:
            return set()
        if not isinstance(elements, list):
            message = (
                f"for_each: {self.for_each_text!r} gave a {type(elements).__name__}, not a list; "
                "end the expression with [] or [*]"
            )
            intents.append(self._failed(document, document.key, message))
            return {document.key}
        keys: set[str] = set()
        if not self.needs_root:
            for index, element in enumerate(elements):
                key = f"{document.key}[{index}]"
                keys.add(key)
                intents.append(self._intent(document, element, key, produced))
            return keys
        with document_scope(data):
            for index, element in enumerate(elements):
                key = f"{document.key}[{index}]"
                keys.add(key)
                intents.append(self._intent(document, element, key, produced))
        return keys

    def _failed(self, document: SourceDocument, key: str, message: str) -> Intent:
        return _new_intent(
            record=self.name,
            object=self.object,
            key=key,
            document_key=document.key,
            fields=(),
            mode=self.mode,
            on_many=self.on_many,
            version=document.version,
            error=f"records.{self.name}: {message} (key {key})",
        )

    def _intent(
        self,
        document: SourceDocument,
        context: Any,
        key: str,
        produced: Mapping[str, set[str] | None],
    ) -> Intent:
        name = self.name
        fields: list[FieldIntent] = []
        append = fields.append
        document_refs = self.document_refs
        match: list[MatchKey] = []
        try:
            for program in self.fields:
                kind = program.kind
                if kind is _PLAIN:
                    only = program.only
                    if only is not None and context.__class__ is dict:  # `name`: the commonest
                        value = context.get(only, MISSING)
                    else:
                        value = program.getter(context)  # type: ignore[misc]  # set when plain
                    shared = program.shared
                    if shared is not None and type(value) is str:
                        field_intent = shared.get(value)
                        if field_intent is None:
                            field_intent = program.share(value)
                        append(field_intent)
                    else:
                        append(
                            _new_field_intent(
                                program.name, value, program.strategy, program.nulls, program.source
                            )
                        )
                elif kind is _REF:
                    # a link to a parent without for_each is the same for every element of the
                    # document: built once per document
                    field_intent = document_refs.get(program.name)
                    if field_intent is None:
                        ref = self._ref(program.ref or "", document, key, produced)
                        field_intent = _new_field_intent(
                            program.name, ref, program.strategy, program.nulls, program.source
                        )
                        if program.ref in self.document_level_parents:
                            document_refs[program.name] = field_intent
                    append(field_intent)
                else:
                    append(program.compute(context, name))
            for rule in self.match:
                match.append(rule.key(context))
        except _UnmappedError as exc:
            return self._failed_with(document, key, exc.message, tuple(fields))
        except FieldlineError as exc:
            if len(fields) < len(self.fields):  # the field being computed failed
                where = self.fields[len(fields)].name
            else:  # a match rule failed: the first one not evaluated yet
                where = f"match {self.match[len(match)].field}"
            error = f"records.{name}: {where}: {_message(exc)} (key {key})"
            return self._failed_with(document, key, error, tuple(fields))
        return _new_intent(
            name,
            self.object,
            key,
            document.key,
            tuple(fields),
            tuple(match),
            self.mode,
            self.on_many,
            document.version,
        )

    def _failed_with(
        self, document: SourceDocument, key: str, error: str, fields: tuple[FieldIntent, ...]
    ) -> Intent:
        return _new_intent(
            record=self.name,
            object=self.object,
            key=key,
            document_key=document.key,
            fields=fields,
            mode=self.mode,
            on_many=self.on_many,
            version=document.version,
            error=error,
        )

    def _ref(
        self,
        parent_name: str,
        document: SourceDocument,
        key: str,
        produced: Mapping[str, set[str] | None],
    ) -> Ref:
        parent = self.parents[parent_name]
        if isinstance(parent, str):
            raise EvaluationError(parent)
        keys = produced.get(parent_name)
        if not keys:
            raise EvaluationError(f"parent {parent_name!r} has no record for this document")
        if parent.for_each is None:
            return _new_ref(parent_name, document.key)
        if parent.for_each.text != self.for_each_text:
            raise EvaluationError(
                f"parent {parent_name!r} is a for_each record; only a record with the same "
                f"for_each ({parent.for_each.text!r}) can ref it"
            )
        if key not in keys:
            raise EvaluationError(f"parent {parent_name!r} has no record for element {key}")
        return _new_ref(parent_name, key)


def _message(exc: FieldlineError) -> str:
    return str(exc)
