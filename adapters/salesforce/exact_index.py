"""Exact match keys answered from a copy of the object, kept in a temporary SQLite file.

A run of 100,000 profiles asks for 300,000 exact keys: as ``WHERE Field IN (...)`` queries, cut
to stay under the URL limit and five to a composite call, that is some 170 calls. Reading the
object once (``Id``, the match field and the fields the spec compares; one Bulk API 2.0 query
job) costs a handful. :class:`~fieldline.adapters.salesforce.match_index.MatchIndex` decides when
(once the run's queries for a key have cost what the read would); this module holds the copy.

The copy lives on disk, not in memory: 300,000 records as Python dicts would take some 150 MB,
as rows of a temporary SQLite database (deleted when closed) they take the page cache's 2 MB. Keys
are stored as SOQL's ``=`` compares them (:func:`~fieldline.adapters.salesforce.lookup.index_key`:
text case-folded, ids by their 15-character form, numbers by value), and every candidate is
checked again with :func:`~fieldline.adapters.salesforce.lookup.same_key`, so the answers are
those the queries would give.
"""

from __future__ import annotations

import pickle
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal
from itertools import islice
from typing import Any

from fieldline.adapters.salesforce.lookup import KeyKind, index_key, same_key
from fieldline.contracts import TargetRecord

__all__ = ["ExactIndex", "IndexFile"]

_CHUNK = 500  # keys per SELECT, rows per INSERT


def key_text(value: Any, kind: KeyKind) -> str | None:
    """The stored form of ``value``'s key: equal keys give equal texts; ``None``: no key."""
    if value is None or value == "":
        return None
    key = index_key(value, kind)
    if type(key) is object:  # the lookup module's "cannot be a value of this field"
        return None
    if isinstance(key, Decimal):
        key = key.normalize() if key else Decimal(0)  # 5 == 5.0 == 5E0, and -0 == 0
    return f"{type(key).__name__}:{key!r}"


class IndexFile:
    """The temporary SQLite database of one adapter's exact indexes (opened on first use)."""

    def __init__(self) -> None:
        self._db: sqlite3.Connection | None = None
        self._tables = 0

    def table(self) -> tuple[sqlite3.Connection, str]:
        """A new, empty table for one index."""
        if self._db is None:
            # "": a private temporary file, deleted on close; one writer, nothing to recover.
            self._db = sqlite3.connect("", check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode = OFF")
            self._db.execute("PRAGMA synchronous = OFF")
        self._tables += 1
        name = f"index_{self._tables}"
        self._db.execute(f"CREATE TABLE {name} (id TEXT PRIMARY KEY, key TEXT, row BLOB) WITHOUT ROWID")
        self._db.execute(f"CREATE INDEX {name}_key ON {name} (key)")
        return self._db, name

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
        self._db = None
        self._tables = 0


class ExactIndex:
    """Every record of one object, filed by one field's value (``match_field``, canonical name).

    ``fields``: the canonical names kept for each record (``Id`` and the match field included).
    """

    def __init__(self, file: IndexFile, match_field: str, kind: KeyKind, fields: frozenset[str]) -> None:
        self.match_field = match_field
        self.kind = kind
        self.fields = fields
        self._db, self._table = file.table()

    def put_all(self, records: Iterable[Mapping[str, Any]]) -> int:
        """File every record (replacing one with the same ``Id``); how many."""
        count = 0
        iterator = iter(records)
        while chunk := list(islice(iterator, _CHUNK)):
            self._db.executemany(
                f"INSERT OR REPLACE INTO {self._table} (id, key, row) VALUES (?, ?, ?)",
                [self._row(record) for record in chunk],
            )
            count += len(chunk)
        return count

    def merge(self, changes: Iterable[tuple[str, Mapping[str, Any], bool]]) -> None:
        """Apply written records: ``(Id, fields written, created)``. A created record is filed
        as written; an updated one has the fields merged over its copy (and is re-filed when its
        match field changed)."""
        rows: list[tuple[str, str | None, bytes]] = []
        for record_id, fields, created in changes:
            kept = {name: value for name, value in fields.items() if name in self.fields}
            if created:
                rows.append(self._row({**kept, "Id": record_id}))
                continue
            found = self._db.execute(f"SELECT row FROM {self._table} WHERE id = ?", (record_id,)).fetchone()
            record = pickle.loads(found[0]) if found is not None else {"Id": record_id}
            rows.append(self._row({**record, **kept}))
        self._db.executemany(f"INSERT OR REPLACE INTO {self._table} (id, key, row) VALUES (?, ?, ?)", rows)

    def answer(self, values: Iterable[Any]) -> dict[Any, list[TargetRecord]]:
        """``requested value -> records`` (sorted by ``Id``) whose match field equals it as SOQL
        compares them."""
        wanted: dict[str, list[Any]] = {}
        for value in values:
            text = key_text(value, self.kind)
            if text is not None:
                wanted.setdefault(text, []).append(value)
            if self.kind is KeyKind.TEXT and isinstance(value, int | float) and not isinstance(value, bool):
                # a number asked of a text field matches its text ("5"), as the query does
                wanted.setdefault(f"str:{str(value).casefold()!r}", []).append(value)
        found: dict[Any, dict[str, TargetRecord]] = {}
        for text, blob in self._candidates(list(wanted)):
            record = pickle.loads(blob)
            raw = record.get(self.match_field)
            for value in wanted[text]:
                if same_key(value, raw, self.kind):
                    found.setdefault(value, {})[str(record["Id"])] = record
        return {
            value: [matches[record_id] for record_id in sorted(matches)] for value, matches in found.items()
        }

    def _candidates(self, texts: list[str]) -> Iterator[tuple[str, bytes]]:
        for start in range(0, len(texts), _CHUNK):
            chunk = texts[start : start + _CHUNK]
            marks = ", ".join("?" * len(chunk))
            yield from self._db.execute(f"SELECT key, row FROM {self._table} WHERE key IN ({marks})", chunk)

    def _row(self, record: Mapping[str, Any]) -> tuple[str, str | None, bytes]:
        kept = {name: value for name, value in record.items() if name in self.fields or name == "Id"}
        text = key_text(kept.get(self.match_field), self.kind)
        return str(kept["Id"]), text, pickle.dumps(kept, pickle.HIGHEST_PROTOCOL)
