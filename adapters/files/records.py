"""The records of one object of the files target, with the indexes that keep every write O(1).

Records are found by ``Id`` (a dict), by a field's exact value (upsert matching, duplicate
checks) and by a lookup key (``lookup``: the value normalized and typed by
:func:`~fieldline.planning.compare.lookup_key`). Each index is built the first time it is needed
and kept current by :meth:`RecordTable.add` and :meth:`RecordTable.change`; new ids come from a
counter. So a run of N writes costs O(N), where scanning every record per write cost O(N²).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator, Mapping
from typing import Any

from fieldline.contracts import FieldDescription
from fieldline.planning.compare import lookup_key

__all__ = ["RecordTable"]

Record = dict[str, Any]
_LookupSlot = tuple[str, tuple[str, ...]]  # (field, normalize)


class _Lookup:
    """Records by the lookup key of one field's (normalized) value."""

    __slots__ = ("by_key", "field", "field_name", "normalizer")

    def __init__(
        self, field_name: str, field: FieldDescription | None, normalizer: Callable[[Any], Any] | None
    ) -> None:
        self.field_name = field_name
        self.field = field
        self.normalizer = normalizer
        self.by_key: dict[Any, list[Record]] = {}

    def key_of(self, value: Any) -> Any:
        """The key a stored value is found by; ``None`` when it cannot be one (null, unhashable)."""
        if value is None:
            return None
        if self.normalizer is not None:
            value = self.normalizer(value)
        return _hashable_or_none(lookup_key(value, self.field)) if _hashable(value) else None

    def add(self, record: Record) -> None:
        key = self.key_of(record.get(self.field_name))
        if key is not None:
            self.by_key.setdefault(key, []).append(record)

    def remove(self, record: Record) -> None:
        key = self.key_of(record.get(self.field_name))
        if key is None:
            return
        matches = self.by_key.get(key, [])
        matches[:] = [found for found in matches if found is not record]
        if not matches:
            self.by_key.pop(key, None)


class RecordTable:
    """One object's records in load order, indexed by Id, by exact value and by lookup key."""

    def __init__(self, name: str, records: list[Record]) -> None:
        self.name = name
        self.records = records
        self.by_id: dict[Any, Record] = {record["Id"]: record for record in records}
        self._exact: dict[str, dict[Hashable, list[Record]]] = {}
        self._lookups: dict[_LookupSlot, _Lookup] = {}
        self._last_number = _highest_number(name, records)

    def __iter__(self) -> Iterator[Record]:
        return iter(self.records)

    def next_id(self) -> str:
        """``<Object>-000001``, ``-000002``, ...: one more than the highest id of that form."""
        self._last_number += 1
        return f"{self.name}-{self._last_number:06d}"

    def with_value(self, field_name: str, value: Any) -> list[Record]:
        """The records whose ``field_name`` equals ``value`` (``==``, as a stored JSON value)."""
        if not _hashable(value):
            return [record for record in self.records if record.get(field_name) == value]
        index = self._exact.get(field_name)
        if index is None:
            index = self._exact[field_name] = {}
            for record in self.records:
                _add_exact(index, record.get(field_name), record)
        return list(index.get(value, ()))

    def matching(
        self,
        field_name: str,
        normalize: tuple[str, ...],
        field: FieldDescription | None,
        normalizer: Callable[[Any], Any] | None,
        value: Any,
    ) -> list[Record]:
        """The records whose (normalized) ``field_name`` has the lookup key of ``value``."""
        slot = (field_name, normalize)
        index = self._lookups.get(slot)
        if index is None:
            index = self._lookups[slot] = _Lookup(field_name, field, normalizer)
            for record in self.records:
                index.add(record)
        if not _hashable(value):
            return []
        key = _hashable_or_none(lookup_key(value, field))
        return list(index.by_key.get(key, ())) if key is not None else []

    def add(self, record: Record) -> None:
        self.records.append(record)
        self.by_id[record["Id"]] = record
        for field_name, index in self._exact.items():
            _add_exact(index, record.get(field_name), record)
        for lookup in self._lookups.values():
            lookup.add(record)

    def change(self, record: Record, fields: Mapping[str, Any]) -> None:
        """Set ``fields`` on a stored record, moving it in the indexes whose field changes."""
        moved = [name for name in self._exact if name in fields and fields[name] != record.get(name)]
        lookups = [lookup for lookup in self._lookups.values() if lookup.field_name in fields]
        for name in moved:
            _remove_exact(self._exact[name], record.get(name), record)
        for lookup in lookups:
            lookup.remove(record)
        record.update(fields)
        for name in moved:
            _add_exact(self._exact[name], record.get(name), record)
        for lookup in lookups:
            lookup.add(record)


def _add_exact(index: dict[Hashable, list[Record]], value: Any, record: Record) -> None:
    if value is not None and _hashable(value):
        index.setdefault(value, []).append(record)


def _remove_exact(index: dict[Hashable, list[Record]], value: Any, record: Record) -> None:
    if value is None or not _hashable(value):
        return
    matches = index.get(value, [])
    matches[:] = [found for found in matches if found is not record]
    if not matches:
        index.pop(value, None)


def _highest_number(name: str, records: list[Record]) -> int:
    prefix = f"{name}-"
    numbers = [
        int(text[len(prefix) :])
        for text in (str(record["Id"]) for record in records)
        if text.startswith(prefix) and text[len(prefix) :].isdigit()
    ]
    return max(numbers, default=0)


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def _hashable_or_none(key: Any) -> Any:
    return key if _hashable(key) else None
