"""Bulk API 2.0 query jobs: run a SOQL query in the background, page its CSV result by locator."""

from __future__ import annotations

import asyncio
import csv
import io
import itertools
import time
from dataclasses import dataclass, field
from typing import Any

from fieldline.adapters.salesforce.emulator.bulk import DELIMITERS
from fieldline.adapters.salesforce.emulator.context import Emulator
from fieldline.adapters.salesforce.emulator.soql import CompiledQuery, make_getter
from fieldline.adapters.salesforce.emulator.store import now_iso

__all__ = ["QueryJob", "run_query_job"]

_numbers = itertools.count(1)
LINE_ENDINGS = {"LF": "\n", "CRLF": "\r\n"}


def new_query_job_id() -> str:
    return f"7508d0001{next(_numbers):06d}AAA"


@dataclass(slots=True)
class QueryJob:
    """One query job; ``lines`` holds the CSV rows (without header) once it is complete."""

    id: str
    compiled: CompiledQuery
    operation: str  # query | queryAll
    column_delimiter: str
    line_ending: str
    api_version: str
    created_date: str = field(default_factory=now_iso)
    modstamp: str = field(default_factory=now_iso)
    state: str = "UploadComplete"
    header: list[str] = field(default_factory=list)
    lines: list[list[str]] = field(default_factory=list)
    started: float | None = None
    finished: float | None = None

    def set_state(self, state: str) -> None:
        self.state = state
        self.modstamp = now_iso()

    def info(self, *, detailed: bool) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.id,
            "operation": self.operation,
            "object": self.compiled.table.obj.name,
            "createdById": "0058d000000EMUUSR",
            "createdDate": self.created_date,
            "systemModstamp": self.modstamp,
            "state": self.state,
            "concurrencyMode": "Parallel",
            "contentType": "CSV",
            "apiVersion": float(self.api_version),
            "jobType": "V2Query",
            "lineEnding": self.line_ending,
            "columnDelimiter": self.column_delimiter,
        }
        if detailed:
            millis = 0
            if self.started is not None:
                millis = int(((self.finished or time.monotonic()) - self.started) * 1000)
            body.update(
                {"numberRecordsProcessed": len(self.lines), "retries": 0, "totalProcessingTime": millis}
            )
        return body

    def page(self, start: int, size: int) -> tuple[str, str, int]:
        """(CSV text, next locator or ``"null"``, rows in this page) for rows ``start..start+size``."""
        out = io.StringIO()
        writer = csv.writer(
            out, delimiter=DELIMITERS[self.column_delimiter], lineterminator=LINE_ENDINGS[self.line_ending]
        )
        writer.writerow(self.header)
        chunk = self.lines[start : start + size]
        writer.writerows(chunk)
        end = start + len(chunk)
        return out.getvalue(), (str(end) if end < len(self.lines) else "null"), len(chunk)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


async def run_query_job(emu: Emulator, job: QueryJob) -> None:
    """Run the job's query and keep the rows (a background task)."""
    await asyncio.sleep(0)
    if job.state != "UploadComplete":
        return
    job.set_state("InProgress")
    job.started = time.monotonic()
    try:
        compiled = job.compiled
        records = compiled.run(emu.store, include_deleted=job.operation == "queryAll")
        getters = [make_getter(emu.store, path) for path in compiled.select]
        job.header = [".".join(path.names) for path in compiled.select]
        job.lines = [[_cell(get(record)) for get in getters] for record in records]
        if emu.settings.bulk_delay_ms:
            await asyncio.sleep(emu.settings.bulk_delay_ms / 1000)
        if job.state == "InProgress":
            job.set_state("JobComplete")
    finally:
        job.finished = time.monotonic()
