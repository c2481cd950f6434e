"""The pure planner: intents + existing target records -> a :class:`~fieldline.planning.plans.Plan`.

Three public functions, called by the runner in this order:

- :func:`lookup_requests` - every match key of a batch, grouped per (object, field, normalizers),
  so the target answers in a few calls;
- :func:`plan` - decide, per record and per field, what a sync does and why (no I/O);
- :func:`resolve_refs` - after parents are written, replace each :class:`Ref` by the new id.

The semantics are documented in ``docs/planning.md``; golden tests in ``tests/planner/golden``
pin them down case by case.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from fieldline.contracts import LookupRequest, LookupResult, ObjectDescription, TargetRecord
from fieldline.errors import PlanError
from fieldline.planning.compare import Comparator, comparator
from fieldline.planning.evaluation import UNMAPPED_SKIPPED_NOTE, compose_normalizers, slot_builder
from fieldline.planning.intents import FieldIntent, Intent, MatchKey, Ref
from fieldline.planning.plans import Action, Decision, FieldChange, Plan, RecordPlan
from fieldline.spec.model import Mode, Nulls, OnMany, RecordSpec, Spec, Strategy
from fieldline.values import MISSING

__all__ = ["lookup_requests", "plan", "resolve_refs"]

_LookupSlot = tuple[str, str, tuple[str, ...]]
_Slot = tuple[str, str]  # (record name, intent key)

# Field reasons, shared strings so a plan of 100k fields holds few distinct objects.
_NEW_RECORD = "new record"
_CHANGED = "value differs"
_EMPTY_TARGET = "target field is empty"
_KEPT = "if_empty: target field already has a value"
_NOT_ON_UPDATE = "on_create: record already exists"
_NULL_SKIPPED = "source value is null (nulls: skip)"
_NULL_CLEARS = "source value is null (nulls: clear)"
_NULL_ON_CREATE = "source value is null; nothing to clear on a new record"
_ALREADY_BLANK = "source value is null and target field is already empty"
_SOURCE_MISSING = "source has no value"
_UNCHANGED = "target already has this value"
_PARENT_CREATED = "parent is created in this run"

_SHARED_VALUES = 64  # a field with more distinct values than this gets no shared changes
_new_record_plan = slot_builder(RecordPlan)
_new_field_change = slot_builder(FieldChange)
_NOTHING_RESOLVED: dict[str, Any] = {}  # shared, never written: records without refs


# --- lookup ------------------------------------------------------------------------------------


def lookup_requests(
    spec: Spec,
    intents: Iterable[Intent],
    *,
    normalizers: Mapping[str, Callable[[Any], Any]],
) -> list[LookupRequest]:
    """What to ask the target: every usable match value, grouped per (object, field, normalize).

    ``fields`` of each request lists every field the planner needs back for that object (the
    mapped fields and the match fields of every record writing it). Requests come in spec
    order (record, then match rule); intents with an error are not looked up.
    """
    needed: dict[str, set[str]] = {}
    order: dict[_LookupSlot, set[Any]] = {}
    for record in spec.records:
        wanted = needed.setdefault(record.object, set())
        wanted.update(field.name for field in record.fields)
        wanted.update(rule.field for rule in record.match)
        for rule in record.match:
            order.setdefault((record.object, rule.field, rule.normalize), set())
    for intent in intents:
        if intent.error is not None:
            continue
        for key in intent.match:
            if key.value is None:
                continue
            slot = (intent.object, key.field, key.normalize)
            values = order.get(slot)
            if values is None:  # an intent built by hand for a rule the spec lacks
                values = order[slot] = set()
                needed.setdefault(intent.object, set()).add(key.field)
            values.add(key.value)
    requests: list[LookupRequest] = []
    for (object_name, field, normalize), values in order.items():
        if not values:
            continue
        requests.append(
            LookupRequest(
                object=object_name,
                field=field,
                values=frozenset(values),
                fields=frozenset(needed.get(object_name, ())),
                normalize=normalize,
                normalizer=compose_normalizers(normalize, normalizers),
            )
        )
    return requests


# --- plan --------------------------------------------------------------------------------------


def plan(
    spec: Spec,
    intents: Iterable[Intent],
    existing: LookupResult,
    *,
    descriptions: Mapping[str, ObjectDescription] | None = None,
) -> Plan:
    """Decide what a sync does to each target record, field by field, and why.

    Pure and deterministic: records come in spec order (parents before children), then intent
    order; the order of records inside ``existing`` does not matter. Raises
    :class:`~fieldline.errors.PlanError` only for an intent naming a record the spec lacks.
    """
    by_record: dict[str, list[Intent]] = {record.name: [] for record in spec.records}
    for intent in intents:
        bucket = by_record.get(intent.record)
        if bucket is None:
            raise PlanError(
                f"intent {intent.label} names record {intent.record!r}, which spec "
                f"{spec.name!r} does not have",
                hint="plan intents with the spec that evaluated them",
                record=intent.record,
            )
        bucket.append(intent)
    done: dict[_Slot, RecordPlan] = {}
    winners: dict[_Slot, str] = {}  # superseded intent -> key of the intent that replaces it
    records: list[RecordPlan] = []
    # only parents are looked up again, by their children's refs
    parents = {field.ref for record in spec.records for field in record.fields if field.ref is not None}
    shared_objects = _objects_of_several_records(spec)
    claimed: dict[Any, str] = {}  # (object, field, normalize, value) -> label of the create
    for record in spec.records:
        planner = _RecordPlanner(record, descriptions, existing, done, winners)
        record_plans = planner.plan_all(by_record[record.name])
        if record.object.lower() in shared_objects:
            record_plans = _wait_for_earlier_creates(record, by_record[record.name], record_plans, claimed)
        if record.name in parents:
            for record_plan in record_plans:
                done[(record.name, record_plan.key)] = record_plan
        records.extend(record_plans)
    return Plan(tuple(records))


def _objects_of_several_records(spec: Spec) -> set[str]:
    counts = Counter(record.object.lower() for record in spec.records)
    return {name for name, count in counts.items() if count > 1}


def _wait_for_earlier_creates(
    record: RecordSpec,
    intents: Sequence[Intent],
    record_plans: list[RecordPlan],
    claimed: dict[Any, str],
) -> list[RecordPlan]:
    """Creates that would duplicate an earlier record's create in this batch wait for it.

    Two spec records on one object (a primary contact and a list of people, say) may both
    want to create the record with one match key. The later one is skipped with ``waits_for``
    set; the runner plans it again once the earlier create is written, when it matches.
    """
    result: list[RecordPlan] = []
    for intent, record_plan in zip(intents, record_plans, strict=True):
        if record_plan.action is not Action.CREATE:
            result.append(record_plan)
            continue
        identities = [
            ((record.object.lower(), key.field.lower(), key.normalize, key.value), key)
            for key in intent.match
            if key.value is not None
        ]
        blocking = next(
            ((claimed[identity], key) for identity, key in identities if identity in claimed), None
        )
        if blocking is None:
            for identity, _ in identities:
                claimed.setdefault(identity, record_plan.label)
            result.append(record_plan)
            continue
        label, key = blocking
        result.append(
            replace(
                record_plan,
                action=Action.SKIP,
                changes=(),
                reasons=(
                    f"waits for {label}, which creates this {record.object} ({key.field} = "
                    f"{key.raw!r}) in this batch; planned again once that is written",
                ),
                waits_for=label,
            )
        )
    return result


def resolve_refs(record_plan: RecordPlan, ids: Mapping[tuple[str, str], str]) -> dict[str, Any]:
    """The record's writes with every :class:`Ref` replaced by the parent's target id.

    ``ids`` maps ``(record name, intent key)`` to the id each written parent got. Raises
    :class:`PlanError` when a parent has no id yet (write parents first).
    """
    fields = record_plan.writes
    for name, value in fields.items():
        if isinstance(value, Ref):
            target_id = ids.get((value.record, value.key))
            if target_id is None:
                raise PlanError(
                    f"{record_plan.label}: {name}: parent {value.record} {value.key} has no id yet",
                    hint="write parent records before their children",
                    record=record_plan.record,
                )
            fields[name] = target_id
    return fields


class _Match:
    """The outcome of the match chain for one intent."""

    __slots__ = ("ids", "key", "matched_by", "record", "status")

    def __init__(
        self,
        status: str,
        record: TargetRecord | None = None,
        key: MatchKey | None = None,
        ids: tuple[str, ...] = (),
    ) -> None:
        self.status = status  # "found" | "none" | "nokey" | "many"
        self.record = record
        self.key = key  # the rule that found it
        self.matched_by = _matched_by(key) if key is not None else None
        if key is not None and len(ids) > 1 and status == "found":
            self.matched_by = f"{self.matched_by} (first of {len(ids)})"
        self.ids = ids


_NO_MATCH = _Match("none")
_NO_KEY = _Match("nokey")  # no rule had a usable value


def _matched_by(key: MatchKey) -> str:
    text = f"{key.field} = {key.value!r}"
    if key.normalize:
        text += f" (normalize: {', '.join(key.normalize)})"
    return text


def _record_id(record: TargetRecord) -> str:
    return str(record.get("Id", ""))


class _RecordPlanner:
    """Plans every intent of one spec record."""

    def __init__(
        self,
        record: RecordSpec,
        descriptions: Mapping[str, ObjectDescription] | None,
        existing: LookupResult,
        done: Mapping[_Slot, RecordPlan],
        winners: dict[_Slot, str],
    ) -> None:
        self.record = record
        self.existing = existing
        self.done = done
        self.winners = winners
        description = descriptions.get(record.object) if descriptions is not None else None
        blank_is_null = description.blank_is_null if description is not None else False
        self.slots = tuple(
            _FieldSlot(
                field.name,
                comparator(
                    description.field(field.name) if description is not None else None,
                    blank_is_null=blank_is_null,
                ),
            )
            for field in record.fields
        )
        self.slot_by_name = {slot.name: slot for slot in self.slots}
        self.untyped = comparator(None, blank_is_null=blank_is_null)
        self.has_refs = any(field.ref is not None for field in record.fields)
        self.with_notes: dict[tuple[str, str], str] = {}

    def _slot(self, name: str) -> _FieldSlot:
        """The slot of a field the spec may not list (an intent built by hand)."""
        slot = self.slot_by_name.get(name)
        if slot is None:
            slot = self.slot_by_name[name] = _FieldSlot(name, self.untyped)
        return slot

    # -- match and supersede

    def _match(self, intent: Intent) -> _Match:
        existing = self.existing
        usable = False
        for key in intent.match:
            if key.value is None:
                continue
            usable = True
            by_value = existing.get((intent.object, key.field, key.normalize))
            if not by_value:
                continue
            found = by_value.get(key.value)
            if not found:
                continue
            if len(found) == 1:
                return _Match("found", found[0], key)
            ordered = sorted(found, key=_record_id)
            ids = tuple(_record_id(candidate) for candidate in ordered)
            if intent.on_many is OnMany.FIRST:
                return _Match("found", ordered[0], key, ids)
            return _Match("many", None, key, ids)
        return _NO_MATCH if usable or not intent.match else _NO_KEY

    def _supersede(self, intents: Sequence[Intent], matches: list[_Match]) -> dict[int, int]:
        """Index of each losing intent -> index of the intent that wins its target.

        A group that found an existing record is that record: a winner that found nothing itself
        updates it (its entry in ``matches`` is replaced), rather than creating a second one.

        Intents are grouped when they resolve to one target: the same matched id, or a match
        key that decides the target of one of them (a create's usable keys, the key a match
        was found by) and that the others also carry. So two creates never share a key, and an
        update never writes a key that a create in the same batch is about to use. Two intents
        that found two different existing records are never grouped: a fallback key they share
        is not their target.
        """
        if not self._may_collide(intents, matches):
            return {}
        parent: list[int] = list(range(len(intents)))
        target_of: dict[int, str] = {}  # group root -> the existing record the group updates

        def root(index: int) -> int:
            while parent[index] != index:
                parent[index] = parent[parent[index]]
                index = parent[index]
            return index

        def union(first: int, other: int) -> None:
            """Group two intents, unless they already resolved to two different records."""
            a, b = root(first), root(other)
            if a == b:
                return
            a_id, b_id = target_of.get(a), target_of.get(b)
            if a_id is not None and b_id is not None and a_id != b_id:
                return  # both matched, each its own record: a shared fallback key is no collision
            parent[b] = a
            if a_id is None and b_id is not None:
                target_of[a] = b_id

        by_id: dict[str, int] = {}
        owned: set[Any] = set()  # keys that decide some intent's target
        holders: dict[Any, list[int]] = {}
        for index, (intent, match) in enumerate(zip(intents, matches, strict=True)):
            if intent.error is not None or match.status == "many" or self._parent_unwritten(intent):
                continue  # it will not be written: it must not push a writable intent aside
            for key in intent.match:
                if key.value is None:
                    continue
                identity = (key.field, key.normalize, key.value)
                holders.setdefault(identity, []).append(index)
                if match.record is None:
                    owned.add(identity)
            if match.record is not None:
                record_id = _record_id(match.record)
                first = by_id.setdefault(record_id, index)
                target_of.setdefault(root(index), record_id)
                if first != index:
                    union(first, index)
                if match.key is not None:
                    owned.add((match.key.field, match.key.normalize, match.key.value))
        for identity in owned:
            holding = holders.get(identity)
            if holding is None:
                continue
            for index in holding[1:]:
                union(holding[0], index)
        members: dict[int, list[int]] = {}
        for index in range(len(intents)):
            members.setdefault(root(index), []).append(index)
        losers: dict[int, int] = {}
        for group in members.values():
            if len(group) < 2:
                continue
            winner = max(group, key=lambda i: (_version_rank(intents[i].version), i))
            if matches[winner].record is None:
                found = next((i for i in group if matches[i].record is not None), None)
                if found is not None:
                    adopted = matches[found]
                    matches[winner] = _Match("found", adopted.record, adopted.key, adopted.ids)
                    matches[winner].matched_by = f"{adopted.matched_by} (found for {intents[found].key})"
            for index in group:
                if index != winner:
                    losers[index] = winner
        return losers

    @staticmethod
    def _may_collide(intents: Sequence[Intent], matches: Sequence[_Match]) -> bool:
        """Cheap check: does any matched id or usable key occur twice? (Usually not.)"""
        seen: set[Any] = set()
        add = seen.add
        count = 0
        for intent, match in zip(intents, matches, strict=True):
            if match.record is not None:
                add(match.record.get("Id"))
                count += 1
            for key in intent.match:
                if key.value is not None:
                    add((key.field, key.normalize, key.value))
                    count += 1
        return len(seen) != count

    def plan_all(self, intents: Sequence[Intent]) -> list[RecordPlan]:
        matches = [_NO_MATCH if intent.error is not None else self._match(intent) for intent in intents]
        losers = self._supersede(intents, matches)
        for loser, winning in losers.items():
            self.winners[(self.record.name, intents[loser].key)] = intents[winning].key
        plans: list[RecordPlan] = []
        for index, (intent, match) in enumerate(zip(intents, matches, strict=True)):
            winner = losers.get(index)
            if winner is not None:
                target_id = _record_id(match.record) if match.record is not None else None
                plans.append(
                    self._skip(
                        intent,
                        f"superseded by {intents[winner].key} in this batch",
                        target_id=target_id,
                        matched_by=match.matched_by,
                    )
                )
            else:
                plans.append(self._plan_one(intent, match))
        return plans

    # -- one record

    def _skip(
        self,
        intent: Intent,
        reason: str,
        *,
        action: Action = Action.SKIP,
        target_id: str | None = None,
        matched_by: str | None = None,
        changes: tuple[FieldChange, ...] = (),
    ) -> RecordPlan:
        return _new_record_plan(
            record=intent.record,
            object=intent.object,
            key=intent.key,
            action=action,
            changes=changes,
            target_id=target_id,
            matched_by=matched_by,
            reasons=(reason,),
            version=intent.version,
            document_key=intent.document_key,
        )

    def _plan_one(self, intent: Intent, match: _Match) -> RecordPlan:
        if intent.error is not None:
            return self._skip(intent, intent.error, action=Action.ERROR)
        resolved: dict[str, Any] = _NOTHING_RESOLVED
        if self.has_refs:
            resolved = {}
            problem = self._resolve_parents(intent, resolved)
            if problem is not None:
                return self._skip(intent, problem[1], action=problem[0])
        existing = match.record
        if existing is None:
            return self._plan_create(intent, match, resolved)
        target_id = _record_id(existing)
        mode = intent.mode
        if mode is Mode.CREATE_ONLY:
            return self._skip(
                intent, "exists and mode is create_only", target_id=target_id, matched_by=match.matched_by
            )
        changes, writes = self._changes(intent.fields, existing, resolved)
        if mode is Mode.DISABLED:
            return self._skip(
                intent,
                "record is disabled",
                target_id=target_id,
                matched_by=match.matched_by,
                changes=changes,
            )
        return _new_record_plan(
            intent.record,
            intent.object,
            intent.key,
            Action.UPDATE if writes else Action.NOOP,
            changes,
            target_id,
            match.matched_by,
            (),
            intent.version,
            intent.document_key,
        )

    def _plan_create(self, intent: Intent, match: _Match, resolved: Mapping[str, Any]) -> RecordPlan:
        if match.status == "many":
            return self._plan_one_many(intent, match)
        mode = intent.mode
        if match is _NO_KEY and mode is Mode.UPDATE_ONLY:
            # no lookup happened: say why, not "no match"
            fields = ", ".join(key.field for key in intent.match)
            return self._skip(intent, f"no match key has a value ({fields}); mode is update_only")
        if mode is Mode.UPDATE_ONLY:
            return self._skip(intent, "no match and mode is update_only")
        if match is _NO_KEY and mode is not Mode.DISABLED:
            return self._skip(intent, _no_key_reason(intent.match))
        changes, _ = self._changes(intent.fields, None, resolved)
        if mode is Mode.DISABLED:
            return self._skip(intent, "record is disabled", changes=changes)
        return _new_record_plan(
            intent.record,
            intent.object,
            intent.key,
            Action.CREATE,
            changes,
            None,
            None,
            (),
            intent.version,
            intent.document_key,
        )

    def _plan_one_many(self, intent: Intent, match: _Match) -> RecordPlan:
        listed = ", ".join(match.ids)
        found = f"{match.matched_by} matches {len(match.ids)} {intent.object} records ({listed})"
        if intent.on_many is OnMany.SKIP:
            return self._skip(intent, f"{found} and on_many is skip", matched_by=match.matched_by)
        return self._skip(
            intent,
            f"{found}; merge the duplicates or set on_many: first|skip",
            action=Action.ERROR,
            matched_by=match.matched_by,
        )

    def _parent_unwritten(self, intent: Intent) -> bool:
        """Whether a parent's error or skip keeps this intent from being written."""
        return self.has_refs and self._resolve_parents(intent, {}) is not None

    def _resolve_parents(self, intent: Intent, resolved: dict[str, Any]) -> tuple[Action, str] | None:
        """Fill ``resolved`` with each ref field's value (a concrete id, or a Ref to a parent
        created in this run); or say why the record cannot be written."""
        for field in intent.fields:
            ref = field.value
            if not isinstance(ref, Ref):
                continue
            key = self.winners.get((ref.record, ref.key), ref.key)
            parent = self.done.get((ref.record, key))
            if parent is None:
                return (
                    Action.ERROR,
                    f"parent {ref.record} {ref.key} is not planned in this batch; "
                    "plan parents and children together",
                )
            if parent.action is Action.CREATE:
                resolved[field.field] = ref if key == ref.key else Ref(ref.record, key)
            elif parent.target_id is not None and parent.action is not Action.ERROR:
                # update, noop, or skipped but matched (create_only, disabled): the record exists
                resolved[field.field] = parent.target_id
            elif parent.action is Action.ERROR:
                return (Action.ERROR, f"parent {ref.record} {key} has an error")
            else:
                return (Action.SKIP, f"parent {ref.record} {key} is not written")
        return None

    def _changes(
        self,
        fields: tuple[FieldIntent, ...],
        existing: TargetRecord | None,
        resolved: Mapping[str, Any],
    ) -> tuple[tuple[FieldChange, ...], bool]:
        """Per-field decisions; the flag says whether anything is written."""
        slots = self.slots
        aligned = len(slots) == len(fields)  # intents from evaluate list fields in spec order
        with_notes = self.with_notes
        write, unchanged = Decision.WRITE, Decision.UNCHANGED
        override = Strategy.OVERRIDE
        creating = existing is None
        changes: list[FieldChange] = []
        append = changes.append
        writes = False
        field_slots = slots if aligned else [self._slot(field.field) for field in fields]
        for field, spec_slot in zip(fields, field_slots, strict=True):
            name = field.field
            slot = spec_slot if spec_slot.name is name or spec_slot.name == name else self._slot(name)
            new = field.value
            if resolved and name in resolved:
                new = resolved[name]
            strategy = field.strategy
            note = field.note
            shareable = False
            if existing is None:  # creating: every value is written, nothing else is sent
                old: Any = MISSING
                if new is MISSING or new is None:
                    decision, reason = self._absent(field, new, old, creating=True)
                else:
                    decision, reason = write, _NEW_RECORD
                    shareable = new.__class__ is str
            else:
                old = existing.get(name, MISSING)
                if new is MISSING or new is None:
                    decision, reason = self._absent(field, new, old, creating=False)
                elif new.__class__ is not Ref and slot.compare(old, new):
                    decision, reason = unchanged, _UNCHANGED
                    shareable = new.__class__ is str and old.__class__ is str and old == new
                elif strategy is override:
                    decision, reason = write, _PARENT_CREATED if isinstance(new, Ref) else _CHANGED
                elif strategy is Strategy.IF_EMPTY:
                    if old is MISSING or old is None or old == "":
                        decision, reason = write, _EMPTY_TARGET
                    else:
                        decision, reason = Decision.KEPT, _KEPT
                else:
                    decision, reason = Decision.NOT_ON_UPDATE, _NOT_ON_UPDATE
            if decision is write:
                writes = True
            # Changes are immutable: a created or unchanged text value of a field with few
            # distinct values (a status, a country) is built once and shared.
            bucket = (slot.created if creating else slot.same) if shareable else None
            if bucket is not None:
                share_key: Any = new if note is None else (new, note)
                shared = bucket.get(share_key)
                if shared is not None and shared.strategy is strategy and shared.source == field.source:
                    append(shared)
                    continue
            if note is not None and decision is not Decision.UNMAPPED_SKIPPED:
                # few distinct (reason, note) pairs: share the strings
                combined = with_notes.get((reason, note))
                if combined is None:
                    combined = with_notes[(reason, note)] = f"{reason}; {note}"
                reason = combined
            change = _new_field_change(name, old, new, strategy, decision, reason, field.source)
            append(change)
            if bucket is not None:
                if len(bucket) < _SHARED_VALUES:
                    bucket[share_key] = change
                elif creating:  # many distinct values (ids, names): sharing would not pay
                    slot.created = None
                else:
                    slot.same = None
        return tuple(changes), writes

    @classmethod
    def _absent(cls, field: FieldIntent, new: Any, old: Any, *, creating: bool) -> tuple[Decision, str]:
        """The decision for a ``MISSING`` or ``None`` source value."""
        if new is None:
            return cls._null(field, old, creating)
        if field.unmapped_skipped:
            return Decision.UNMAPPED_SKIPPED, field.note or UNMAPPED_SKIPPED_NOTE
        return Decision.MISSING, _SOURCE_MISSING

    @staticmethod
    def _null(field: FieldIntent, old: Any, creating: bool) -> tuple[Decision, str]:
        if field.nulls is Nulls.SKIP:
            return Decision.NULL_SKIPPED, _NULL_SKIPPED
        if creating:
            return Decision.UNCHANGED, _NULL_ON_CREATE
        if old is MISSING or old is None or old == "":
            return Decision.UNCHANGED, _ALREADY_BLANK
        if field.strategy is Strategy.OVERRIDE:
            return Decision.WRITE, _NULL_CLEARS
        if field.strategy is Strategy.IF_EMPTY:
            return Decision.KEPT, _KEPT
        return Decision.NOT_ON_UPDATE, _NOT_ON_UPDATE


def _no_key_reason(keys: tuple[MatchKey, ...]) -> str:
    fields = ", ".join(key.field for key in keys)
    return f"no match key has a value ({fields}); creating it would duplicate the record on every run"


class _FieldSlot:
    """What the planner keeps per target field of a record: its comparison and the changes it
    shares (``None`` once the field proves to have too many distinct values)."""

    __slots__ = ("compare", "created", "name", "same")

    def __init__(self, name: str, compare: Comparator) -> None:
        self.name = name
        self.compare = compare
        self.created: dict[Any, FieldChange] | None = {}
        self.same: dict[Any, FieldChange] | None = {}


def _version_rank(version: float | None) -> float:
    return float("-inf") if version is None else version
