"""Bulk API 2.0 query jobs: run a SOQL query in the background, page its CSV result by locator."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any

from fieldline.adapters.salesforce.emulator.bulk_job import DELIMITERS, LINE_ENDINGS, BulkJob
from fieldline.adapters.salesforce.emulator.context import Emulator
from fieldline.adapters.salesforce.emulator.soql import CompiledQuery, make_getter

__all__ = ["QueryJob"]


@dataclass(slots=True)
class QueryJob(BulkJob):
    """One query job (``operation`` query or queryAll); ``lines`` holds the CSV rows once complete."""

    job_type = "V2Query"
    compiled: CompiledQuery
    header: list[str] = field(default_factory=list)
    lines: list[list[str]] = field(default_factory=list)

    @property
    def object_name(self) -> str:
        return self.compiled.table.obj.name

    def type_info(self, *, detailed: bool) -> dict[str, Any]:
        return {"numberRecordsProcessed": len(self.lines)} if detailed else {}

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

    async def process(self, emu: Emulator) -> None:
        """Run the query and keep its rows."""
        compiled = self.compiled
        records = compiled.run(emu.store, include_deleted=self.operation == "queryAll")
        getters = [make_getter(emu.store, path) for path in compiled.select]
        self.header = [".".join(path.names) for path in compiled.select]
        self.lines = [[_cell(get(record)) for get in getters] for record in records]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
