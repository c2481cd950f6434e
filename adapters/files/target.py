"""A file-backed target: records live in a JSON file (``{"Account": [...], ...}``) or in a folder
of ``<Object>.jsonl`` files. Lets the engine run end to end with no network, and serves as the
reference implementation of the target contract (it passes the conformance suite).

Every write is O(1) (:class:`~fieldline.adapters.files.records.RecordTable` indexes), and files
are not rewritten per batch: a folder's ``<Object>.jsonl`` gets each written record appended
(the last line of an Id wins when read), a JSON state file gets a journal beside it
(``.<name>.journal.jsonl``). Both are read back the same way after a crash, so nothing written
is lost. The whole state is written when the target closes, and also whenever the writes since
it was last written are as many as its records were (:data:`FOLD_SHARE`): a long-lived target (a
service's) keeps its file current, and a run of N writes still rewrites it O(log N) times, in
O(N) in all.

Optional ``objects`` options describe fields (type, required, external id, picklist, length)
so ``validate --against files`` and pre-flight checks work like they do against a CRM.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from fieldline.adapters.files.options import TARGET_OPTIONS_SCHEMA
from fieldline.adapters.files.records import Record, RecordTable
from fieldline.contracts import (
    ApplyResult,
    FieldDescription,
    FieldType,
    LookupRequest,
    LookupResult,
    ObjectDescription,
    TargetBase,
    TargetRecord,
    Write,
    WriteError,
    WriteErrorStage,
    WriteOperation,
    WriteResult,
)
from fieldline.errors import ConfigError, FatalAdapterError
from fieldline.values import is_blank

__all__ = ["FOLD_SHARE", "TARGET_OPTIONS_SCHEMA", "FilesTarget"]

# Write the whole state once the journal (or appended lines) holds as many records as the state
# last written whole: it doubles between rewrites, so a run of N writes rewrites it O(log N)
# times and serializes O(N) records in all.
FOLD_SHARE = 1.0


class FilesTarget(TargetBase):
    """A :class:`~fieldline.contracts.TargetAdapter` over a JSON file or a folder of JSONL files."""

    name = "files"

    def __init__(self, path: Path, *, objects: Mapping[str, Any] | None = None) -> None:
        self.path = path
        self._schema = {name: _describe_object(name, spec) for name, spec in (objects or {}).items()}
        self._changed: dict[int, tuple[str, Record]] = {}  # written since the last flush, by id()
        self._unsaved = False  # the journal (or appended lines) hold writes the state does not
        self._appended = 0  # records appended since the state was last written whole
        self._tables: dict[str, RecordTable] = {
            name: RecordTable(name, records) for name, records in self._load().items()
        }
        self._closed = False

    # --- TargetAdapter --------------------------------------------------------------------

    def describe(self, object_name: str) -> ObjectDescription:
        described = self._schema.get(object_name)
        if described is not None:
            return described
        if self._schema:
            raise FatalAdapterError(
                f"files target: unknown object {object_name!r}",
                hint=f"describe it under target.options.objects (known: {', '.join(sorted(self._schema))})",
                object=object_name,
            )
        seen: dict[str, FieldDescription] = {"Id": _id_field()}
        for record in self._tables.get(object_name, ()):
            for name in record:
                seen.setdefault(name, FieldDescription(name=name))
        return ObjectDescription(name=object_name, fields=seen)

    def lookup(self, requests: Sequence[LookupRequest]) -> LookupResult:
        result: dict[tuple[str, str, tuple[str, ...]], dict[Any, list[TargetRecord]]] = {}
        for request in requests:
            field = self._field_of(request.object, request.field)
            table = self._tables.get(request.object)
            found: dict[Any, list[TargetRecord]] = {}
            result[(request.object, request.field, request.normalize)] = found
            if table is None:
                continue
            for value in request.values:
                # typed keys: True must not find 1, and "7" must find 7 in a number field
                matches = table.matching(request.field, request.normalize, field, request.normalizer, value)
                if matches:
                    found[value] = sorted((dict(record) for record in matches), key=lambda r: str(r["Id"]))
        return result

    def _field_of(self, object_name: str, field_name: str) -> FieldDescription | None:
        """The declared description of a field (``objects`` option), if there is one."""
        described = self._schema.get(object_name)
        return described.field(field_name) if described is not None else None

    def apply(self, writes: Sequence[Write]) -> ApplyResult:
        """One result per write (a file has no API budget, so it never stops early)."""
        results = tuple(self._apply_one(write) for write in writes)
        self._flush()
        written_whole = sum(len(table.records) for table in self._tables.values()) - self._appended
        if self._appended and self._appended >= FOLD_SHARE * written_whole:
            self._save()
        return ApplyResult(results=results)

    def check(self, writes: Sequence[Write]) -> list[tuple[WriteError, ...]]:
        """The pre-write check ``apply`` makes, for ``plan`` (nothing is written)."""
        return [(problem,) if (problem := self._preflight(write)) is not None else () for write in writes]

    def close(self) -> None:
        """Fold the journal into the state file (folders: drop superseded lines), once."""
        if not self._closed and self._unsaved:
            self._save()
        self._closed = True

    # --- one write ------------------------------------------------------------------------

    def _apply_one(self, write: Write) -> WriteResult:
        invalid = self._preflight(write)
        if invalid is not None:
            return WriteResult(key=write.key, ok=False, error=invalid)
        table = self._table(write.object)
        if write.operation is WriteOperation.UPDATE:
            existing = self._by_id(write.object, write.target_id)
            if existing is None:
                return _failure(write, "ENTITY_IS_DELETED", f"no {write.object} with Id {write.target_id!r}")
            return self._update(write, existing)
        if write.operation is WriteOperation.UPSERT:
            field = write.external_id_field
            if field is None or is_blank(write.fields.get(field)):
                return _failure(write, "MISSING_ARGUMENT", "upsert needs an external id field and value")
            matches = table.with_value(field, write.fields[field])
            if len(matches) > 1:
                ids = ", ".join(str(record["Id"]) for record in matches)
                return _failure(write, "MULTIPLE_CHOICES", f"{field} matches several records: {ids}")
            if matches:
                return self._update(write, matches[0])
        return self._create(write)

    def _create(self, write: Write) -> WriteResult:
        duplicate = self._duplicate(write, exclude_id=None)
        if duplicate is not None:
            return WriteResult(key=write.key, ok=False, error=duplicate)
        missing = [
            name
            for name, described in self._fields(write.object).items()
            if described.required and is_blank(write.fields.get(name))
        ]
        if missing:
            return _failure(
                write, "REQUIRED_FIELD_MISSING", f"Required fields are missing: {missing}", tuple(missing)
            )
        table = self._table(write.object)
        record = {"Id": table.next_id(), **write.fields}
        table.add(record)
        self._changed[id(record)] = (write.object, record)
        return WriteResult(key=write.key, ok=True, target_id=str(record["Id"]), created=True)

    def _update(self, write: Write, existing: dict[str, Any]) -> WriteResult:
        duplicate = self._duplicate(write, exclude_id=existing["Id"])
        if duplicate is not None:
            return WriteResult(key=write.key, ok=False, error=duplicate)
        self._table(write.object).change(
            existing, {name: value for name, value in write.fields.items() if name != "Id"}
        )
        self._changed[id(existing)] = (write.object, existing)
        return WriteResult(key=write.key, ok=True, target_id=str(existing["Id"]), created=False)

    def _preflight(self, write: Write) -> WriteError | None:
        fields = self._fields(write.object)
        if not fields:
            return None
        creating = write.operation is not WriteOperation.UPDATE
        for name, value in write.fields.items():
            described = fields.get(name)
            if described is None:
                return WriteError(
                    "INVALID_FIELD",
                    f"no field {name!r} on {write.object}",
                    (name,),
                    stage=WriteErrorStage.PREFLIGHT,
                )
            if not (described.createable if creating else described.updateable):
                verb = "created" if creating else "updated"
                return WriteError(
                    "INVALID_FIELD_FOR_INSERT_UPDATE",
                    f"{name} cannot be {verb}",
                    (name,),
                    stage=WriteErrorStage.PREFLIGHT,
                )
            if described.picklist_values and value is not None and value not in described.picklist_values:
                return WriteError(
                    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                    f"{name}: bad value for restricted picklist field: {value}",
                    (name,),
                    stage=WriteErrorStage.PREFLIGHT,
                )
            if described.length is not None and isinstance(value, str) and len(value) > described.length:
                return WriteError(
                    "STRING_TOO_LONG",
                    f"{name}: data value too large: {value[:40]!r} (max length={described.length})",
                    (name,),
                    stage=WriteErrorStage.PREFLIGHT,
                )
        return None

    def _duplicate(self, write: Write, *, exclude_id: Any) -> WriteError | None:
        for name, described in self._fields(write.object).items():
            if not (described.unique or described.external_id):
                continue
            value = write.fields.get(name)
            if is_blank(value):
                continue
            for record in self._table(write.object).with_value(name, value):
                if record["Id"] != exclude_id:
                    return WriteError(
                        "DUPLICATE_VALUE",
                        f"duplicate value found: {name} duplicates value on record with id: {record['Id']}",
                        (name,),
                    )
        return None

    # --- storage --------------------------------------------------------------------------

    def _fields(self, object_name: str) -> Mapping[str, FieldDescription]:
        described = self._schema.get(object_name)
        return {} if described is None else {n: f for n, f in described.fields.items() if n != "Id"}

    def _table(self, object_name: str) -> RecordTable:
        table = self._tables.get(object_name)
        if table is None:
            table = self._tables[object_name] = RecordTable(object_name, [])
        return table

    def _by_id(self, object_name: str, target_id: str | None) -> Record | None:
        table = self._tables.get(object_name)
        return table.by_id.get(target_id) if table is not None else None

    def _folder(self) -> bool:
        return self.path.is_dir() or (not self.path.exists() and self.path.suffix.lower() != ".json")

    @property
    def journal(self) -> Path:
        """Where a JSON state file's writes go until :meth:`close` folds them in."""
        return self.path.with_name(f".{self.path.name}.journal.jsonl")

    def _load(self) -> dict[str, list[Record]]:
        if self.path.is_dir():
            return {
                file.stem: _read_jsonl(file) for file in sorted(self.path.glob("*.jsonl")) if file.is_file()
            }
        state = self._load_state()
        if self.journal.exists():  # a run that did not close: its writes are in the journal
            by_object: dict[str, dict[Any, Record]] = {
                name: {record["Id"]: record for record in records} for name, records in state.items()
            }
            for object_name, record in _read_journal(self.journal):
                by_object.setdefault(object_name, {})[record["Id"]] = record  # same place, newer
            state = {name: list(records.values()) for name, records in by_object.items()}
            self._unsaved = True
        return state

    def _load_state(self) -> dict[str, list[Record]]:
        if not self.path.exists():
            return {}
        try:
            document = json.loads(self.path.read_text(encoding="utf-8") or "{}")
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ConfigError(f"{self.path}: cannot read target state: {exc}") from exc
        if not isinstance(document, dict) or not all(isinstance(v, list) for v in document.values()):
            raise ConfigError(
                f"{self.path}: target state must be a JSON object of lists",
                hint='e.g. {"Account": [{"Id": "Account-000001", "Name": "Acme"}]}',
            )
        for object_name, records in document.items():
            for index, record in enumerate(records):
                if not isinstance(record, dict) or "Id" not in record:
                    raise ConfigError(f"{self.path}: {object_name}[{index}] must be an object with an Id")
        return document

    def _flush(self) -> None:
        """Append the records written since the last flush: to their object's JSONL file in a
        folder, to the journal beside a JSON state file."""
        if not self._changed:
            return
        changed, self._changed = list(self._changed.values()), {}
        self._appended += len(changed)
        if self._folder():
            self.path.mkdir(parents=True, exist_ok=True)
            by_object: dict[str, list[str]] = {}
            for object_name, record in changed:
                by_object.setdefault(object_name, []).append(json.dumps(record, sort_keys=True) + "\n")
            for object_name, lines in by_object.items():
                with (self.path / f"{object_name}.jsonl").open("a", encoding="utf-8") as file:
                    file.write("".join(lines))
            self._unsaved = True
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.journal.open("a", encoding="utf-8") as file:
            file.write(
                "".join(
                    json.dumps({"object": object_name, "record": record}, sort_keys=True) + "\n"
                    for object_name, record in changed
                )
            )
        self._unsaved = True

    def _save(self) -> None:
        """The whole state, written once: a folder's files without superseded lines, or the JSON
        state file (then its journal is no longer needed)."""
        records = {name: table.records for name, table in self._tables.items()}
        if self._folder():
            self.path.mkdir(parents=True, exist_ok=True)
            for object_name, object_records in records.items():
                lines = "".join(json.dumps(record, sort_keys=True) + "\n" for record in object_records)
                _atomic_write(self.path / f"{object_name}.jsonl", lines)
        else:
            _atomic_write(self.path, json.dumps(records, indent=2, sort_keys=True) + "\n")
            self.journal.unlink(missing_ok=True)
        self._unsaved = False
        self._appended = 0


def _read_journal(path: Path) -> Iterator[tuple[str, Record]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            if number == len(lines):
                return  # the last line of a run killed mid-write; the lines before it are whole
            raise ConfigError(
                f"{path}:{number}: invalid journal line",
                hint="the writes after it are lost; remove the journal to open the state file as it is",
            ) from None
        if (
            not isinstance(entry, dict)
            or not isinstance(entry.get("record"), dict)
            or "Id" not in entry["record"]
        ):
            raise ConfigError(
                f"{path}:{number}: each journal line must hold an object and a record with an Id"
            )
        yield str(entry.get("object")), entry["record"]


def _read_jsonl(path: Path) -> list[Record]:
    """The records of an object's file; a record written again later (an update appended by a
    run) replaces the earlier line of its Id, in the earlier one's place."""
    records: dict[Any, Record] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path}:{number}:{exc.colno}: invalid JSON: {exc.msg}") from exc
        if not isinstance(record, dict) or "Id" not in record:
            raise ConfigError(f"{path}:{number}: each line must be an object with an Id")
        records[record["Id"]] = record
    return list(records.values())


def _atomic_write(path: Path, text: str) -> None:
    # Write then rename, so a crash never leaves a half-written state file.
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(handle, "w", encoding="utf-8") as file:
        file.write(text)
    os.replace(temporary, path)


def _failure(write: Write, code: str, message: str, fields: tuple[str, ...] = ()) -> WriteResult:
    return WriteResult(key=write.key, ok=False, error=WriteError(code, message, fields))


def _id_field() -> FieldDescription:
    return FieldDescription(
        name="Id", type=FieldType.ID, createable=False, updateable=False, nillable=False, id_lookup=True
    )


def _field_type(object_name: str, field_name: str, text: str) -> FieldType:
    found = FieldType.parse(text)
    if found is None:
        raise ConfigError(
            f"files target: {object_name}.{field_name}: unknown field type {text!r}",
            hint=f"use one of {', '.join(FieldType.names())}",
        )
    return found


def _describe_object(name: str, spec: Mapping[str, Any]) -> ObjectDescription:
    fields: dict[str, FieldDescription] = {"Id": _id_field()}
    for field_name, field_spec in (spec.get("fields") or {}).items():
        if isinstance(field_spec, str):
            field_type = _field_type(name, field_name, field_spec)
            fields[field_name] = FieldDescription(name=field_name, type=field_type)
            continue
        picklist = tuple(field_spec.get("picklist", ()))
        fields[field_name] = FieldDescription(
            name=field_name,
            type=_field_type(name, field_name, field_spec.get("type", "picklist" if picklist else "string")),
            length=field_spec.get("length"),
            required=bool(field_spec.get("required", False)),
            nillable=not field_spec.get("required", False),
            createable=bool(field_spec.get("createable", True)),
            updateable=bool(field_spec.get("updateable", True)),
            unique=bool(field_spec.get("unique", False)),
            external_id=bool(field_spec.get("external_id", False)),
            picklist_values=picklist,
            restricted_picklist=bool(picklist),
            reference_to=tuple(field_spec.get("reference_to", ())),
        )
    return ObjectDescription(name=name, fields=fields)
