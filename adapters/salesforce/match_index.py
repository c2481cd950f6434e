"""Matching on a normalized value without a table scan per batch: a match index.

SOQL cannot compare ``root_domain(Website)`` with a key, and the ``LIKE '%key%'`` candidates
:mod:`~fieldline.adapters.salesforce.lookup` builds are non-selective: every batch scans the
object. The index reads the object's ``(Id, match field, wanted fields)`` once per run instead --
``SELECT COUNT()`` (one call), then REST pages of 2,000 or, above ``bulk_threshold`` records, one
Bulk API 2.0 query job -- normalizes the match field locally, and answers every later batch from
memory. The run's own writes keep it current (:meth:`MatchIndex.note_writes`): a record created
by batch 3 is found by batch 7. A run over N records so costs O(size / page) calls for the
index, never O(N) scans.

``match_index`` (a target option) chooses: ``auto`` reads the index unless the object is much
larger than the keys asked for (a trial run of five records against a million Accounts keeps the
narrow ``LIKE`` queries); ``always`` and ``never`` force either way.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field as dataclass_field
from typing import Any

from fieldline.adapters.salesforce.bulk_query import QueryWait, bulk_records, rest_records
from fieldline.adapters.salesforce.client import SalesforceClient
from fieldline.adapters.salesforce.exact_index import ExactIndex, IndexFile
from fieldline.adapters.salesforce.lookup import key_kind
from fieldline.contracts import LookupRequest, ObjectDescription, TargetRecord, Write, WriteResult

__all__ = ["IndexMode", "MatchIndex"]

IndexKey = tuple[str, str, tuple[str, ...]]  # (object, field, normalize), as LookupResult keys
AUTO_ALWAYS_UP_TO = 200_000  # records: reading them is cheaper than scans, whatever the run
AUTO_RECORDS_PER_KEY = 100  # above it, a few keys are cheaper looked up with LIKE
BULK_PAGE_SIZE = 50_000
# Exact keys: read the object once its queries have cost this many calls in the run (about what
# the read costs: a count and a Bulk query job), unless it holds more records than this.
EXACT_INDEX_AFTER_CALLS = 4.0
EXACT_INDEX_MAX_RECORDS = 5_000_000


class IndexMode(enum.StrEnum):
    AUTO = "auto"
    ALWAYS = "always"
    NEVER = "never"


@dataclass(slots=True)
class _Index:
    """One (object, field, normalize): every record with a value, by normalized value and Id."""

    match_field: str  # the canonical name
    fields: frozenset[str]  # canonical names selected (Id and the match field included)
    normalizer: Callable[[Any], Any]
    by_id: dict[str, dict[str, Any]] = dataclass_field(default_factory=dict)
    by_value: dict[Any, dict[str, dict[str, Any]]] = dataclass_field(default_factory=dict)

    def put(self, record: dict[str, Any]) -> None:
        """Add or replace ``record`` (keyed by its ``Id``), filed under its normalized value."""
        record_id = str(record["Id"])
        old = self.by_id.get(record_id)
        if old is not None:
            self._unfile(record_id, old)
        self.by_id[record_id] = record
        raw = record.get(self.match_field)
        normalized = self.normalizer(raw) if raw is not None and raw != "" else None
        if normalized is not None and normalized != "":
            self.by_value.setdefault(normalized, {})[record_id] = record

    def _unfile(self, record_id: str, record: Mapping[str, Any]) -> None:
        raw = record.get(self.match_field)
        normalized = self.normalizer(raw) if raw is not None and raw != "" else None
        matches = self.by_value.get(normalized)
        if matches is not None:
            matches.pop(record_id, None)
            if not matches:
                del self.by_value[normalized]

    def answer(self, values: Iterable[Any]) -> dict[Any, list[TargetRecord]]:
        found: dict[Any, list[TargetRecord]] = {}
        for value in values:
            matches = self.by_value.get(value)
            if matches:
                found[value] = [matches[record_id] for record_id in sorted(matches)]
        return found


class MatchIndex:
    """The match indexes of one target adapter (one run): read on first use, kept current.

    ``client`` is the adapter's (its calls count against the run's budget); ``describe`` its
    cached describe.
    """

    def __init__(
        self,
        client: SalesforceClient,
        describe: Callable[[str], ObjectDescription],
        *,
        mode: IndexMode = IndexMode.AUTO,
        bulk_threshold: int = 2000,
        wait: QueryWait | None = None,
    ) -> None:
        self.client = client
        self.describe = describe
        self.mode = mode
        self.bulk_threshold = bulk_threshold
        self.wait = wait or QueryWait()
        self._indexes: dict[IndexKey, _Index] = {}
        self._declined: set[IndexKey] = set()  # auto chose LIKE queries for these
        self._file = IndexFile()
        self._exact: dict[IndexKey, ExactIndex] = {}
        self._spent: dict[IndexKey, float] = {}  # calls this run's queries cost, per exact key

    def forget(self) -> None:
        """Drop every index: the next run reads the object again (others may have written it)."""
        self._indexes.clear()
        self._declined.clear()
        self._exact.clear()
        self._spent.clear()
        self._file.close()

    def close(self) -> None:
        self.forget()

    def answers(self, request: LookupRequest) -> bool:
        """Whether this request is answered from an index (reading it now if need be)."""
        if self.mode is IndexMode.NEVER:
            return False
        if not request.normalize:
            return self._answers_exactly(request)
        if request.normalizer is None:
            return False
        key = (request.object, request.field, tuple(request.normalize))
        if key in self._declined:
            return False
        index = self._indexes.get(key)
        wanted = self._wanted(request)
        if index is not None and wanted <= index.fields:
            return True
        description = self.describe(request.object)
        match_field = description.field(request.field)
        if match_field is None:
            return False
        size = self._count(description.name or request.object, match_field.name)
        if (
            self.mode is IndexMode.AUTO
            and size > AUTO_ALWAYS_UP_TO
            and size > AUTO_RECORDS_PER_KEY * len(request.values)
        ):
            self._declined.add(key)
            return False
        self._indexes[key] = self._read(request, description, match_field.name, wanted, size)
        return True

    def lookup(self, request: LookupRequest) -> dict[Any, list[TargetRecord]]:
        """``normalized value -> records`` (sorted by ``Id``) for a request :meth:`answers`."""
        key = (request.object, request.field, tuple(request.normalize))
        exact = self._exact.get(key)
        if exact is not None:
            return exact.answer(request.values)
        return self._indexes[key].answer(request.values)

    def spent(self, keys: Iterable[IndexKey], calls: float) -> None:
        """The queries for exact ``keys`` cost ``calls`` (a share of a composite call each)."""
        for key in keys:
            if not key[2]:
                self._spent[key] = self._spent.get(key, 0.0) + calls

    def _answers_exactly(self, request: LookupRequest) -> bool:
        """Ski rental: queries until they have cost what reading the object would, then the read."""
        key = (request.object, request.field, ())
        index = self._exact.get(key)
        wanted = self._wanted(request)
        if index is not None and wanted <= index.fields:
            return True
        if key in self._declined or self._spent.get(key, 0.0) < EXACT_INDEX_AFTER_CALLS:
            return False
        description = self.describe(request.object)
        match_field = description.field(request.field)
        if match_field is None:
            return False
        object_name = description.name or request.object
        size = self._count(object_name, match_field.name)
        if size > EXACT_INDEX_MAX_RECORDS:
            self._declined.add(key)
            return False
        if index is not None:
            wanted |= index.fields  # a wider copy serves the earlier requests too
        index = ExactIndex(self._file, match_field.name, key_kind(match_field.type, match_field.name), wanted)
        index.put_all(self._records(object_name, description, match_field.name, wanted, size))
        self._exact[key] = index
        return True

    def note_writes(self, writes: Sequence[Write], results: Sequence[WriteResult]) -> None:
        """Keep every index current with the writes that succeeded: creates are added, updates
        merged (and re-filed when the match field changed)."""
        if not self._indexes and not self._exact:
            return
        by_key = {result.key: result for result in results}
        normalized: dict[str, list[_Index]] = {}
        for (object_name, _, _), index in self._indexes.items():
            normalized.setdefault(object_name.lower(), []).append(index)
        exact: dict[str, list[tuple[ExactIndex, list[tuple[str, dict[str, Any], bool]]]]] = {}
        for (object_name, _, _), exact_index in self._exact.items():
            exact.setdefault(object_name.lower(), []).append((exact_index, []))
        for write, record_id, fields, created in self._succeeded(writes, by_key, {*normalized, *exact}):
            for index in normalized.get(write.object.lower(), ()):
                record = dict(index.by_id.get(record_id) or {"Id": record_id})
                record.update((name, value) for name, value in fields.items() if name in index.fields)
                index.put(record)
            for _, changes in exact.get(write.object.lower(), ()):
                changes.append((record_id, fields, created))
        for indexes in exact.values():
            for exact_index, changes in indexes:
                if changes:
                    exact_index.merge(changes)

    def _succeeded(
        self, writes: Sequence[Write], by_key: Mapping[str, WriteResult], objects: set[str]
    ) -> Iterator[tuple[Write, str, dict[str, Any], bool]]:
        """Each write to one of ``objects`` (lower-cased) that succeeded: the write, its record's
        ``Id``, its fields by describe's names, and whether it created the record."""
        canonical: dict[tuple[str, str], str] = {}  # (object, spelling) -> describe's name
        for write in writes:
            result = by_key.get(write.key)
            if write.object.lower() not in objects or result is None or not result.ok:
                continue
            record_id = result.target_id or write.target_id
            if not record_id:
                continue
            fields: dict[str, Any] = {}
            for name, value in write.fields.items():
                found = canonical.get((write.object, name))
                if found is None:
                    described = self.describe(write.object).field(name)
                    found = canonical[(write.object, name)] = (
                        described.name if described is not None else name
                    )
                fields[found] = value
            yield write, record_id, fields, bool(result.created)

    # --- reading --------------------------------------------------------------------------

    def _wanted(self, request: LookupRequest) -> frozenset[str]:
        description = self.describe(request.object)
        names = {"Id"}
        for name in (request.field, *request.fields):
            described = description.field(name)
            if described is not None:
                names.add(described.name)
        return frozenset(names)

    def _count(self, object_name: str, match_field: str) -> int:
        soql = f"SELECT COUNT() FROM {object_name} WHERE {match_field} != null"
        answer = self.client.call(f"count {object_name} for the match index", lambda sf: sf.query(soql))
        return int(answer.get("totalSize") or 0)

    def _read(
        self,
        request: LookupRequest,
        description: ObjectDescription,
        match_field: str,
        wanted: frozenset[str],
        size: int,
    ) -> _Index:
        assert request.normalizer is not None
        index = _Index(match_field, wanted, request.normalizer)
        object_name = description.name or request.object
        for record in self._records(object_name, description, match_field, wanted, size):
            index.put(record)
        return index

    def _records(
        self,
        object_name: str,
        description: ObjectDescription,
        match_field: str,
        wanted: frozenset[str],
        size: int,
    ) -> Iterator[dict[str, Any]]:
        """Every record with a ``match_field`` value: its ``wanted`` fields, through REST pages or,
        above ``bulk_threshold`` records, one Bulk API 2.0 query job."""
        columns = ["Id", *sorted(wanted - {"Id"})]
        soql = f"SELECT {', '.join(columns)} FROM {object_name} WHERE {match_field} != null"
        what = f"read the {object_name} match index on {match_field}"
        records: Iterable[Mapping[str, Any]]
        if size > self.bulk_threshold:
            types = {name.lower(): described.type for name, described in description.fields.items()}
            records = bulk_records(
                self.client, soql, types, what=what, page_size=BULK_PAGE_SIZE, wait=self.wait
            )
        else:
            records = rest_records(self.client, soql, what=what)
        for record in records:
            yield {name: value for name, value in record.items() if name != "attributes"}
