"""Bulk API 2.0 ingest jobs: the job model and the background processing of uploaded CSV.

A job moves ``Open -> UploadComplete -> InProgress -> JobComplete`` (or ``Failed``/``Aborted``).
Processing runs as an asyncio task in chunks (``bulk_chunk_size`` rows), yielding to the event loop
between chunks so polls answer while a large job runs and see ``InProgress``.
"""

from __future__ import annotations

import asyncio
import csv
import io
from dataclasses import dataclass, field
from typing import Any

from fieldline.adapters.salesforce.emulator.bulk_job import DELIMITERS, TERMINAL, BulkJob
from fieldline.adapters.salesforce.emulator.context import Emulator
from fieldline.adapters.salesforce.emulator.ids import normalize_id
from fieldline.adapters.salesforce.emulator.org import FieldDef
from fieldline.adapters.salesforce.emulator.store import Table
from fieldline.adapters.salesforce.emulator.validation import ApiError, missing_record, prepare

__all__ = ["DELIMITERS", "OPERATIONS", "TERMINAL", "Job"]

OPERATIONS = ("insert", "update", "upsert", "delete", "hardDelete")
# Python's csv refuses cells over 128 KiB; Salesforce takes any cell of an accepted upload (150 MB) and
# judges its length per row (a value longer than its field fails that row with STRING_TOO_LONG).
MAX_CELL_CHARS = 150 * 1024 * 1024


@dataclass(slots=True)
class Job(BulkJob):
    """One ingest job and its results (rows keep the uploaded column order)."""

    job_type = "V2Ingest"
    table: Table
    external_id_field: FieldDef | None
    uploads: list[bytes] = field(default_factory=list)
    header: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    next_row: int = 0
    successes: list[tuple[str, bool, int]] = field(default_factory=list)  # (id, created, row index)
    failures: list[tuple[str, str, int]] = field(default_factory=list)  # (id, sf__Error, row index)

    @property
    def object_name(self) -> str:
        return self.table.obj.name

    def type_info(self, *, detailed: bool) -> dict[str, Any]:
        body: dict[str, Any] = {
            "contentUrl": f"services/data/v{self.api_version}/jobs/ingest/{self.id}/batches"
        }
        if self.external_id_field is not None:
            body["externalIdFieldName"] = self.external_id_field.name
        if detailed:
            millis = self.processing_millis()
            processed = len(self.successes) + len(self.failures)
            body.update(
                {
                    "numberRecordsProcessed": processed,
                    "numberRecordsFailed": len(self.failures),
                    "apiActiveProcessingTime": millis,
                    "apexProcessingTime": 0,
                }
            )
        return body

    async def process(self, emu: Emulator) -> None:
        """Load the rows in chunks, yielding between them so polls answer while a large job runs."""
        malformed = self.parse()
        columns = _columns(self) if self.header else "InvalidBatch : No data was uploaded"
        if self.uploads and isinstance(columns, list):
            columns = _check_line_ending(self) or columns
        columns = malformed or columns
        if isinstance(columns, str):
            self.error_message = columns
            self.set_state("Failed")
            return
        chunk = max(1, emu.settings.bulk_chunk_size)
        delay = emu.settings.bulk_delay_ms / 1000
        while self.next_row < len(self.rows):
            end = min(self.next_row + chunk, len(self.rows))
            for index in range(self.next_row, end):
                _process_row(emu, self, columns, index)
            self.next_row = end
            emu.store.flush()
            await asyncio.sleep(delay)
            if self.state != "InProgress":
                return  # aborted meanwhile

    # -- results ---------------------------------------------------------------------------------
    def _csv(self, header: list[str], lines: list[list[str]]) -> str:
        out = io.StringIO()
        writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(lines)
        return out.getvalue()

    def successful_csv(self) -> str:
        lines = [[i, "true" if c else "false", *self.rows[n]] for i, c, n in self.successes]
        return self._csv(["sf__Id", "sf__Created", *self.header], lines)

    def failed_csv(self) -> str:
        lines = [[i, e, *self.rows[n]] for i, e, n in self.failures]
        return self._csv(["sf__Id", "sf__Error", *self.header], lines)

    def unprocessed_csv(self) -> str:
        if self.state == "Open" and not self.rows:
            self.parse()
        start = self.next_row if self.state in ("Aborted", "Failed") else len(self.rows)
        if self.state in ("Open", "UploadComplete"):
            start = 0
        return self._csv(self.header, self.rows[start:])

    def parse(self) -> str | None:
        """Split the uploaded CSV into header and rows (once); the error message of malformed CSV.

        Malformed CSV (an unterminated quote, text after a closing quote) loads nothing.
        """
        if self.header:
            return None
        text = b"".join(self.uploads).decode("utf-8-sig", errors="replace")
        if csv.field_size_limit() < MAX_CELL_CHARS:
            csv.field_size_limit(MAX_CELL_CHARS)
        reader = csv.reader(
            io.StringIO(text, newline=""), delimiter=DELIMITERS[self.column_delimiter], strict=True
        )
        try:
            rows = [row for row in reader if row]
        except csv.Error as exc:
            return f"ClientInputError : Failed to parse CSV at line {reader.line_num}: {exc}"
        if rows:
            self.header = rows[0]
            self.rows = rows[1:]
        return None


def _error_text(error: ApiError) -> str:
    fields = ",".join(error.fields)
    return f"{error.code}:{error.message}:{fields} --" if fields else f"{error.code}:{error.message}:--"


Column = tuple[str, str | None]  # (body key, external-id field of a "Parent__r.Ext__c" column)


def _columns(job: Job) -> list[Column] | str:
    """The body key of each column, or the error message that fails the job."""
    columns: list[Column] = []
    obj = job.table.obj
    for name in job.header:
        relation_name, dot, ext_name = name.strip().partition(".")
        if dot:
            relation = obj.relationship(relation_name)
            if relation is None or not ext_name:
                return f"InvalidBatch : Field name not found : {name}"
            columns.append((str(relation.relationship_name), ext_name))
            continue
        field = obj.field(name.strip())
        if field is None:
            return f"InvalidBatch : Field name not found : {name}"
        columns.append((field.name, None))
    names = {key.lower() for key, ext in columns if ext is None}
    if job.operation in ("delete", "hardDelete") and names != {"id"}:
        return "InvalidBatch : The 'delete' batch must contain only 'Id'"
    if job.operation == "update" and "id" not in names:
        return "InvalidBatch : Field name not found : Id"
    if job.operation == "upsert":
        assert job.external_id_field is not None
        if job.external_id_field.name.lower() not in names:
            return f"InvalidBatch : Field name not found : {job.external_id_field.name}"
    return columns


def _check_line_ending(job: Job) -> str | None:
    """Salesforce refuses data whose line ending differs from the job's ``lineEnding``."""
    first_line_end = job.uploads[0].find(b"\n")
    if first_line_end < 0:
        return None
    crlf = first_line_end > 0 and job.uploads[0][first_line_end - 1 : first_line_end] == b"\r"
    if crlf != (job.line_ending == "CRLF"):
        return (
            "ClientInputError : LineEnding is invalid on user data. Current LineEnding setting is "
            + job.line_ending
        )
    return None


def _process_row(emu: Emulator, job: Job, columns: list[Column], index: int) -> None:
    row = job.rows[index]
    store = emu.store
    table = job.table
    body: dict[str, Any] = {}
    for (name, ext), raw in zip(columns, row, strict=False):
        if raw == "":
            continue  # an empty cell leaves the field alone; #N/A clears it
        if ext is not None:
            body[name] = {ext: raw}
        else:
            body[name] = None if raw == "#N/A" else raw
    operation = job.operation
    if operation == "insert":
        target_id = None
        created = True
    else:
        key_field = job.external_id_field if operation == "upsert" else table.obj.fields["id"]
        assert key_field is not None
        key = body.get(key_field.name)
        if key is None:
            job.failures.append(
                (
                    "",
                    _error_text(
                        ApiError("MISSING_ARGUMENT", f"{key_field.name} not specified", (key_field.name,))
                    ),
                    index,
                )
            )
            return
        if key_field.type == "id" and normalize_id(str(key)) is None:
            job.failures.append(
                ("", _error_text(ApiError("MALFORMED_ID", f"invalid record id: {key}", ("Id",))), index)
            )
            return
        ids = table.find(key_field.name, key)
        if len(ids) > 1:
            error = ApiError(
                "DUPLICATE_EXTERNAL_ID",
                f"{key_field.name}: more than one record found for external id field: {ids}",
            )
            job.failures.append(("", _error_text(error), index))
            return
        if not ids and operation != "upsert":
            canonical = normalize_id(str(key)) or ""
            job.failures.append((canonical, _error_text(missing_record(table, canonical)), index))
            return
        target_id = ids[0] if ids else None
        created = target_id is None
    fault = emu.write_fault(target_id)
    if fault is not None:
        job.failures.append((target_id or "", _error_text(fault), index))
        return
    if operation in ("delete", "hardDelete"):
        assert target_id is not None
        store.delete(table, target_id)
        if operation == "hardDelete":
            table.deleted.pop(target_id, None)
        job.successes.append((target_id, False, index))
        return
    if target_id is None:
        values, errors = prepare(store, table, body)
        if not errors:
            target_id = store.insert(table, values)["Id"]
    else:
        values, errors = prepare(store, table, body, existing=table.rows[target_id], ignore=frozenset({"id"}))
        if not errors:
            store.update(table, target_id, values)
    if errors:
        job.failures.append((target_id or "", _error_text(errors[0]), index))
        return
    assert target_id is not None
    job.successes.append((target_id, created, index))
