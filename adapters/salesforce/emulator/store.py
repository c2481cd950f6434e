"""Records of the emulated org: in memory, indexed, optionally persisted to a SQLite file.

Every table keeps records by canonical id plus a value index for each indexed field (Id, unique and
external-id fields), so external-id lookups and ``WHERE f IN (...)`` never scan. Writes inside
:meth:`Store.transaction` keep an undo log, which is how ``allOrNone`` rolls a batch back.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fieldline.adapters.salesforce.emulator.ids import IdGenerator, normalize_id
from fieldline.adapters.salesforce.emulator.org import ObjectDef, Org
from fieldline.errors import ConfigError

__all__ = ["Record", "Store", "Table", "index_key", "now_iso"]

Record = dict[str, Any]


_last_stamp: list[Any] = [-1, ""]


def now_iso() -> str:
    """The current time the way Salesforce writes datetimes: ``2024-05-01T10:00:00.000+0000``."""
    millis = int(time.time() * 1000)
    if millis != _last_stamp[0]:  # bulk loads stamp thousands of records within one millisecond
        now = datetime.fromtimestamp(millis / 1000, UTC)
        _last_stamp[:] = [millis, now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{millis % 1000:03d}+0000"]
    return str(_last_stamp[1])


def index_key(value: Any) -> Any:
    """The index key for a value: text matches case-insensitively, as Salesforce external ids do."""
    return value.lower() if isinstance(value, str) else value


class Table:
    """The live and deleted records of one object, with value indexes."""

    __slots__ = ("deleted", "indexes", "obj", "rows")

    def __init__(self, obj: ObjectDef) -> None:
        self.obj = obj
        self.rows: dict[str, Record] = {}
        self.deleted: dict[str, Record] = {}
        # lower-case field name -> index key -> ids (Id itself is looked up in ``rows``).
        self.indexes: dict[str, dict[Any, set[str]]] = {
            f.name.lower(): {} for f in obj.indexed_fields if f.type != "id"
        }

    def find(self, field_name: str, value: Any) -> list[str]:
        """Ids of live records whose indexed ``field_name`` equals ``value``, in id order."""
        lowered = field_name.lower()
        if lowered == "id":
            canonical = normalize_id(value) if isinstance(value, str) else None
            return [canonical] if canonical is not None and canonical in self.rows else []
        index = self.indexes.get(lowered)
        if index is None:
            field = self.obj.field(field_name)
            name = field.name if field else field_name
            key = index_key(value)
            return sorted(i for i, r in self.rows.items() if index_key(r.get(name)) == key)
        return sorted(index.get(index_key(value), ()))

    def _index(self, record: Record) -> None:
        record_id = record["Id"]
        for lowered, index in self.indexes.items():
            value = record.get(self.obj.fields[lowered].name)
            if value is not None:
                index.setdefault(index_key(value), set()).add(record_id)

    def _unindex(self, record: Record) -> None:
        record_id = record["Id"]
        for lowered, index in self.indexes.items():
            value = record.get(self.obj.fields[lowered].name)
            if value is not None:
                ids = index.get(index_key(value))
                if ids is not None:
                    ids.discard(record_id)
                    if not ids:
                        del index[index_key(value)]

    def put(self, record: Record) -> None:
        old = self.rows.get(record["Id"])
        if old is not None:
            self._unindex(old)
        self.rows[record["Id"]] = record
        self._index(record)

    def remove(self, record_id: str) -> Record | None:
        old = self.rows.pop(record_id, None)
        if old is not None:
            self._unindex(old)
        return old


class Store:
    """Tables for every object of ``org``; persisted to ``state_path`` (SQLite) when given."""

    def __init__(self, org: Org, state_path: str | Path | None = None) -> None:
        self.org = org
        self.tables: dict[str, Table] = {name: Table(obj) for name, obj in org.objects.items()}
        self._by_prefix: dict[str, Table] = {t.obj.key_prefix: t for t in self.tables.values()}
        self.ids = IdGenerator()
        self.writes = 0
        self._undo: list[tuple[Table, str, Record | None, bool]] | None = None
        self._dirty: dict[str, Table] = {}
        self._db: sqlite3.Connection | None = None
        if state_path is not None:
            self._open(Path(state_path))

    # -- lookups -------------------------------------------------------------------------------
    def table(self, name: str) -> Table | None:
        """The table of the object called ``name`` (any letter case)."""
        return self.tables.get(name.lower())

    def table_for_id(self, record_id: str) -> Table | None:
        """The table an id belongs to, from its key prefix."""
        return self._by_prefix.get(record_id[:3])

    def get(self, record_id: str) -> tuple[Table, Record] | None:
        """The live record with this id (15 or 18 characters, any case) and its table."""
        canonical = normalize_id(record_id)
        if canonical is None:
            return None
        table = self._by_prefix.get(canonical[:3])
        if table is None:
            return None
        record = table.rows.get(canonical)
        return None if record is None else (table, record)

    def counts(self) -> dict[str, int]:
        return {t.obj.name: len(t.rows) for t in self.tables.values()}

    # -- writes --------------------------------------------------------------------------------
    def insert(self, table: Table, values: Record) -> Record:
        """Create a record from validated ``values``; system fields are set here."""
        now = now_iso()
        record: Record = {"Id": self.ids.new(table.obj.key_prefix), "IsDeleted": False}
        record.update(values)
        record["CreatedDate"] = record["LastModifiedDate"] = record["SystemModstamp"] = now
        self._calculate(table.obj, record)
        self._remember(table, record["Id"], None, False)
        table.put(record)
        self.writes += 1
        return record

    def update(self, table: Table, record_id: str, values: Record) -> Record:
        """Apply validated ``values`` to the live record ``record_id``."""
        old = table.rows[record_id]
        record = dict(old)
        record.update(values)
        record["LastModifiedDate"] = record["SystemModstamp"] = now_iso()
        self._calculate(table.obj, record)
        self._remember(table, record_id, old, False)
        table.put(record)
        self.writes += 1
        return record

    def delete(self, table: Table, record_id: str) -> None:
        """Move a live record to the recycle bin (``queryAll`` still sees it)."""
        old = table.remove(record_id)
        if old is None:
            return
        self._remember(table, record_id, old, True)
        table.deleted[record_id] = {**old, "IsDeleted": True, "SystemModstamp": now_iso()}
        self.writes += 1

    @staticmethod
    def _calculate(obj: ObjectDef, record: Record) -> None:
        name = obj.fields.get("name")
        if name is not None and name.calculated:
            parts = [record.get("FirstName"), record.get("LastName")]
            record["Name"] = " ".join(p for p in parts if p) or None

    def _remember(self, table: Table, record_id: str, old: Record | None, was_live_delete: bool) -> None:
        self._dirty[record_id] = table
        if self._undo is not None:
            self._undo.append((table, record_id, old, was_live_delete))

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """Group writes; ``rollback()`` on the yielded object undoes those made inside it.

        An exception escaping the block rolls the transaction back too, then propagates: a request
        that fails as a whole commits nothing. Transactions nest like savepoints (a composite call
        around a collections call); the state file is written when the outermost one ends.
        """
        outermost = self._undo is None
        if self._undo is None:
            self._undo = []
        tx = Transaction(self, len(self._undo))
        try:
            yield tx
        except BaseException:
            tx.rollback()
            raise
        finally:
            if outermost:
                self._undo = None
                self.flush()

    def _rollback(self, mark: int) -> None:
        assert self._undo is not None
        for table, record_id, old, was_delete in reversed(self._undo[mark:]):
            if was_delete:
                table.deleted.pop(record_id, None)
            if old is None:
                table.remove(record_id)
            else:
                table.put(old)
            self._dirty[record_id] = table  # the state file may already hold the undone version
            self.writes -= 1
        del self._undo[mark:]

    # -- persistence ---------------------------------------------------------------------------
    def _open(self, path: Path) -> None:
        try:
            # The server's event loop is the only user; it may run in another thread than create_app.
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS records (id TEXT PRIMARY KEY, object TEXT NOT NULL,"
                " deleted INTEGER NOT NULL, data TEXT NOT NULL)"
            )
            self._db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            rows = self._db.execute("SELECT object, deleted, data FROM records").fetchall()
            counter = self._db.execute("SELECT value FROM meta WHERE key = 'id_counter'").fetchone()
        except sqlite3.Error as exc:
            raise ConfigError(
                f"{path}: cannot open the emulator state file: {exc}",
                hint="pass a writable path to --state, or remove a corrupt file",
            ) from exc
        for object_name, deleted, data in rows:
            table = self.table(object_name)
            if table is None:
                continue  # the org file no longer has this object
            record = json.loads(data)
            if deleted:
                table.deleted[record["Id"]] = record
            else:
                table.put(record)
        if counter is not None:
            self.ids = IdGenerator(int(counter[0]) + 1)

    def flush(self) -> None:
        """Write changed records to the state file (no-op in memory)."""
        dirty, self._dirty = self._dirty, {}
        if self._db is None or not dirty:
            return
        upserts = []
        removed = []
        for record_id, table in dirty.items():
            record = table.rows.get(record_id)
            deleted = 0
            if record is None:
                record = table.deleted.get(record_id)
                deleted = 1
            if record is None:
                removed.append((record_id,))
            else:
                upserts.append((record_id, table.obj.name, deleted, json.dumps(record)))
        db = self._db
        db.execute("BEGIN")
        db.executemany("INSERT OR REPLACE INTO records VALUES (?, ?, ?, ?)", upserts)
        db.executemany("DELETE FROM records WHERE id = ?", removed)
        db.execute("INSERT OR REPLACE INTO meta VALUES ('id_counter', ?)", (str(self.ids.last),))
        db.execute("COMMIT")

    def close(self) -> None:
        """Flush and close the state file."""
        self.flush()
        if self._db is not None:
            self._db.close()
            self._db = None


class Transaction:
    """Handle for :meth:`Store.transaction`."""

    __slots__ = ("_mark", "_store")

    def __init__(self, store: Store, mark: int) -> None:
        self._store = store
        self._mark = mark

    def rollback(self) -> None:
        """Undo every write made in this transaction so far."""
        self._store._rollback(self._mark)
