"""The target adapter conformance suite: standard tests every :class:`TargetAdapter` should pass.

Small test templates, assembled by :func:`get_target_test_class` into a pytest class (the way
the Meltano SDK's ``get_target_test_class`` works). A plugin author writes::

    from fieldline.testing.target_suite import get_target_test_class

    TestMyTarget = get_target_test_class(
        make_target=lambda: MyTarget(...),    # a fresh adapter; may take pytest's `request`
        object_name="Widget__c",
        external_id_field="External_Id__c",  # an external-id text field
        text_field="Description__c",          # a plain, non-unique text field
    )

and runs ``pytest``. The object must exist with those fields; the tests write records with
unique random values, so a shared sandbox or emulator works and nothing is cleaned up.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from fieldline.contracts import (
    ApplyResult,
    LookupRequest,
    ObjectDescription,
    TargetAdapter,
    TargetRecord,
    Write,
    WriteErrorStage,
    WriteOperation,
    WriteResult,
    field_value,
)
from fieldline.testing.factories import build_test_class, suite_config
from fieldline.values import MISSING

__all__ = ["TEMPLATES", "TargetTestConfig", "TargetTestTemplate", "get_target_test_class"]


@dataclass(frozen=True, slots=True)
class TargetTestConfig:
    """What the suite needs to know about the object under test.

    ``required_fields`` are added to every create (e.g. ``{"LastName": "Test"}`` on Contact).
    ``invalid_fields`` make a record the target must refuse (default: a field that does not
    exist). ``number_field`` / ``boolean_field`` enable the typed-value templates.
    """

    make_target: Callable[..., TargetAdapter]
    object_name: str
    external_id_field: str
    text_field: str
    number_field: str | None = None
    boolean_field: str | None = None
    required_fields: Mapping[str, Any] = field(default_factory=dict)
    invalid_fields: Mapping[str, Any] = field(default_factory=lambda: {"Fieldline_No_Such_Field__c": "x"})

    def __post_init__(self) -> None:
        # copies: a caller's dict changed later must not change what the suite writes
        object.__setattr__(self, "required_fields", dict(self.required_fields))
        object.__setattr__(self, "invalid_fields", dict(self.invalid_fields))


class TargetTestTemplate:
    """One standard test. Subclasses set ``name`` and implement :meth:`run`."""

    name: ClassVar[str] = ""

    def run(self, target: TargetAdapter, config: TargetTestConfig) -> None:
        """Exercise ``target``; fail with ``AssertionError``."""
        raise NotImplementedError


# --- helpers -------------------------------------------------------------------------------


def _unique(label: str) -> str:
    return f"{label}-{uuid.uuid4().hex[:16]}"


def _create(config: TargetTestConfig, key: str, **fields: Any) -> Write:
    return Write(
        key=key,
        object=config.object_name,
        operation=WriteOperation.CREATE,
        fields={**config.required_fields, **fields},
    )


def _apply(target: TargetAdapter, writes: Sequence[Write]) -> list[WriteResult]:
    """Every result of a batch the target must finish (the suite sends a few records only)."""
    applied = target.apply(writes)
    assert isinstance(applied, ApplyResult), f"apply returned {type(applied).__name__}, not an ApplyResult"
    assert applied.stopped is None, f"apply stopped on a batch of {len(writes)} writes: {applied.stopped}"
    results = list(applied.results)
    assert len(results) == len(writes), f"apply returned {len(results)} results for {len(writes)} writes"
    return results


def _apply_ok(target: TargetAdapter, writes: Sequence[Write]) -> list[WriteResult]:
    results = _apply(target, writes)
    for write, result in zip(writes, results, strict=True):
        assert result.ok, f"write {write.key} failed: {result.error}"
        assert result.target_id, f"write {write.key} returned no target id"
    return results


def _lookup(
    target: TargetAdapter,
    config: TargetTestConfig,
    field_name: str,
    values: Sequence[Any],
    *,
    fields: Sequence[str] = (),
    normalize: tuple[str, ...] = (),
    normalizer: Callable[[Any], Any] | None = None,
) -> Mapping[Any, Sequence[TargetRecord]]:
    request = LookupRequest(
        object=config.object_name,
        field=field_name,
        values=frozenset(values),
        fields=frozenset(fields),
        normalize=normalize,
        normalizer=normalizer,
    )
    result = target.lookup([request])
    slot = (config.object_name, field_name, normalize)
    assert slot in result or not any(True for _ in values), f"lookup result has no entry {slot}"
    return result.get(slot, {})


def _value(record: TargetRecord, name: str) -> Any:
    value = field_value(record, name, MISSING)
    if value is MISSING:
        raise AssertionError(f"record {record.get('Id')} has no field {name!r}: {sorted(record)}")
    return value


# --- templates -----------------------------------------------------------------------------


class DescribeReturnsFields(TargetTestTemplate):
    name = "describe_returns_fields"

    def run(self, target: TargetAdapter, config: TargetTestConfig) -> None:
        description = target.describe(config.object_name)
        assert isinstance(description, ObjectDescription)
        for name in (config.external_id_field, config.text_field, config.number_field, config.boolean_field):
            if name is not None:
                assert description.field(name) is not None, f"describe lacks {name}"
        external = description.field(config.external_id_field)
        assert external is not None
        assert external.external_id, f"{config.external_id_field} is not an external id"
        assert description.field(config.external_id_field.lower()) is not None, "field() must ignore case"


class CreateReturnsIds(TargetTestTemplate):
    name = "create_returns_ids"

    def run(self, target: TargetAdapter, config: TargetTestConfig) -> None:
        writes = [
            _create(
                config, f"c{i}", **{config.external_id_field: _unique("create"), config.text_field: f"t{i}"}
            )
            for i in range(3)
        ]
        results = _apply_ok(target, writes)
        assert [result.key for result in results] == [write.key for write in writes]
        assert all(result.created for result in results), "creates must report created=True"
        assert len({result.target_id for result in results}) == 3, "each create needs its own id"


class LookupManyKeysAtOnce(TargetTestTemplate):
    name = "lookup_many_keys_at_once"

    def run(self, target: TargetAdapter, config: TargetTestConfig) -> None:
        keys = [_unique("many") for _ in range(5)]
        results = _apply_ok(target, [_create(config, key, **{config.external_id_field: key}) for key in keys])
        unknown = [_unique("absent"), _unique("absent")]
        found = _lookup(
            target, config, config.external_id_field, [*keys, *unknown], fields=[config.text_field]
        )
        for key, result in zip(keys, results, strict=True):
            records = found.get(key, ())
            assert len(records) == 1, f"{key}: expected one match, got {len(records)}"
            assert records[0]["Id"] == result.target_id
            assert _value(records[0], config.external_id_field) == key
        for value in unknown:
            assert not found.get(value), f"an unknown value matched: {value}"


class LookupSortedById(TargetTestTemplate):
    name = "lookup_sorted_by_id"

    def run(self, target: TargetAdapter, config: TargetTestConfig) -> None:
        shared = _unique("shared")
        writes = [
            _create(
                config, f"s{i}", **{config.external_id_field: _unique("sorted"), config.text_field: shared}
            )
            for i in range(4)
        ]
        results = _apply_ok(target, writes)
        records = _lookup(target, config, config.text_field, [shared]).get(shared, ())
        ids = [str(record["Id"]) for record in records]
        assert sorted(ids) == sorted(str(result.target_id) for result in results)
        assert ids == sorted(ids), "matches must be sorted by Id"


class UpdateChangesOnlySentFields(TargetTestTemplate):
    name = "update_changes_only_sent_fields"

    def run(self, target: TargetAdapter, config: TargetTestConfig) -> None:
        key = _unique("update")
        (created,) = _apply_ok(
            target, [_create(config, "u", **{config.external_id_field: key, config.text_field: "before"})]
        )
        new_external = _unique("update-new")
        update = Write(
            key="u2",
            object=config.object_name,
            operation=WriteOperation.UPDATE,
            fields={config.external_id_field: new_external},
            target_id=created.target_id,
        )
        (updated,) = _apply_ok(target, [update])
        assert updated.target_id == created.target_id
        assert not updated.created
        records = _lookup(
            target, config, config.external_id_field, [new_external], fields=[config.text_field]
        )
        (record,) = records[new_external]
        assert _value(record, config.text_field) == "before", (
            "an update must not touch fields it did not send"
        )


class UpsertCreatesThenUpdates(TargetTestTemplate):
    name = "upsert_creates_then_updates"

    def run(self, target: TargetAdapter, config: TargetTestConfig) -> None:
        key = _unique("upsert")

        def upsert(text: str) -> Write:
            return Write(
                key=f"up-{text}",
                object=config.object_name,
                operation=WriteOperation.UPSERT,
                fields={**config.required_fields, config.external_id_field: key, config.text_field: text},
                external_id_field=config.external_id_field,
            )

        (first,) = _apply_ok(target, [upsert("one")])
        assert first.created, "the first upsert must create"
        (second,) = _apply_ok(target, [upsert("two")])
        assert not second.created, "the second upsert must update"
        assert second.target_id == first.target_id
        (record,) = _lookup(target, config, config.external_id_field, [key], fields=[config.text_field])[key]
        assert _value(record, config.text_field) == "two"


class ResultsInRequestOrder(TargetTestTemplate):
    name = "results_in_request_order"

    def run(self, target: TargetAdapter, config: TargetTestConfig) -> None:
        (existing,) = _apply_ok(
            target, [_create(config, "seed", **{config.external_id_field: _unique("seed")})]
        )
        writes = [
            _create(config, "a", **{config.external_id_field: _unique("order")}),
            Write(
                key="b",
                object=config.object_name,
                operation=WriteOperation.UPDATE,
                fields={config.text_field: "updated"},
                target_id=existing.target_id,
            ),
            Write(
                key="c",
                object=config.object_name,
                operation=WriteOperation.UPSERT,
                fields={**config.required_fields, config.external_id_field: _unique("order")},
                external_id_field=config.external_id_field,
            ),
            _create(config, "d", **{config.external_id_field: _unique("order")}),
        ]
        results = _apply_ok(target, writes)
        assert [result.key for result in results] == ["a", "b", "c", "d"]
        assert results[1].target_id == existing.target_id


class BadRecordFailsAlone(TargetTestTemplate):
    name = "bad_record_fails_alone"

    def run(self, target: TargetAdapter, config: TargetTestConfig) -> None:
        good = [_create(config, f"good{i}", **{config.external_id_field: _unique("good")}) for i in range(2)]
        bad = _create(config, "bad", **{config.external_id_field: _unique("bad"), **config.invalid_fields})
        writes = [good[0], bad, good[1]]
        results = _apply(target, writes)
        assert [result.key for result in results] == ["good0", "bad", "good1"]
        assert results[0].ok, "good records must not fail because of a bad one"
        assert results[2].ok, "good records must not fail because of a bad one"
        assert not results[1].ok, "the bad record must fail"
        assert results[1].error is not None, "a failed write needs a WriteError"
        assert results[1].error.code, "a WriteError needs the target's code"
        assert results[1].error.stage in tuple(WriteErrorStage)


class NormalizerLookup(TargetTestTemplate):
    name = "normalizer_lookup"

    def run(self, target: TargetAdapter, config: TargetTestConfig) -> None:
        token = uuid.uuid4().hex[:12]
        stored = f"  Mixed Case {token.upper()} "
        (created,) = _apply_ok(
            target,
            [_create(config, "n", **{config.external_id_field: _unique("norm"), config.text_field: stored})],
        )

        def normalize(value: Any) -> Any:
            return " ".join(value.split()).lower() if isinstance(value, str) else value

        wanted = normalize(stored)
        found = _lookup(
            target,
            config,
            config.text_field,
            [wanted, f"missing {token}"],
            normalize=("squash",),
            normalizer=normalize,
        )
        records = found.get(wanted, ())
        assert [record["Id"] for record in records] == [created.target_id], "normalized lookup must match"
        assert not found.get(f"missing {token}")


class TypedValuesRoundTrip(TargetTestTemplate):
    name = "typed_values_round_trip"

    def run(self, target: TargetAdapter, config: TargetTestConfig) -> None:
        fields: dict[str, Any] = {}
        if config.number_field:
            fields[config.number_field] = 42
        if config.boolean_field:
            fields[config.boolean_field] = True
        if not fields:
            return  # nothing typed to check for this object
        key = _unique("typed")
        _apply_ok(target, [_create(config, "t", **{config.external_id_field: key, **fields})])
        (record,) = _lookup(target, config, config.external_id_field, [key], fields=list(fields))[key]
        for name, value in fields.items():
            assert _value(record, name) == value, f"{name}: wrote {value!r}, read {_value(record, name)!r}"


class CloseIsIdempotent(TargetTestTemplate):
    name = "close_is_idempotent"

    def run(self, target: TargetAdapter, config: TargetTestConfig) -> None:
        target.describe(config.object_name)
        target.close()
        target.close()


TEMPLATES: tuple[type[TargetTestTemplate], ...] = (
    DescribeReturnsFields,
    CreateReturnsIds,
    LookupManyKeysAtOnce,
    LookupSortedById,
    UpdateChangesOnlySentFields,
    UpsertCreatesThenUpdates,
    ResultsInRequestOrder,
    BadRecordFailsAlone,
    NormalizerLookup,
    TypedValuesRoundTrip,
    CloseIsIdempotent,
)


def get_target_test_class(
    *,
    make_target: Callable[..., TargetAdapter],
    object_name: str,
    external_id_field: str,
    text_field: str,
    number_field: str | None = None,
    boolean_field: str | None = None,
    required_fields: Mapping[str, Any] | None = None,
    invalid_fields: Mapping[str, Any] | None = None,
    templates: Sequence[type[TargetTestTemplate]] = TEMPLATES,
    class_name: str = "TestTargetConformance",
) -> type:
    """A pytest test class with one ``test_<template>`` per template.

    ``make_target`` returns a fresh adapter for each test (closed afterwards); if it takes one
    argument it receives pytest's ``request``, so it can use fixtures
    (``request.getfixturevalue("emulator")``).
    """
    config = suite_config(TargetTestConfig, locals())
    return build_test_class(class_name=class_name, config=config, make=make_target, templates=templates)
