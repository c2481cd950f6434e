"""Large writes through Bulk API 2.0 ingest jobs: one CSV upload per object and operation.

Flow: create job -> upload CSV -> close (``UploadComplete``) -> poll -> fetch successful,
failed and unprocessed rows. Each result row echoes the uploaded columns, which is how it is
mapped back to its :class:`~fieldline.contracts.Write`. Rows never processed (job failed or
aborted) are retriable errors; rows refused for a passing reason (a lock, ``UNKNOWN_EXCEPTION``,
...) are handed back for a retry through sObject Collections. When the org's daily limit hits
after the upload, the job's rows are reported ``UNCONFIRMED`` (retriable): sent, their outcome unknown.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from fieldline.adapters.salesforce.apply import json_ready
from fieldline.adapters.salesforce.bulk_query import csv_rows
from fieldline.adapters.salesforce.client import SalesforceClient
from fieldline.adapters.salesforce.retry import RESEND_NOW_RECORD_CODES, record_code_retriable
from fieldline.contracts import Write, WriteError, WriteErrorStage, WriteOperation, WriteResult
from fieldline.errors import BudgetExhaustedError, TransientAdapterError

__all__ = ["BulkWriter", "csv_cell"]

Indexed = tuple[int, Write]

MAX_UPLOAD_BYTES = 100 * 1024 * 1024  # Salesforce advises <= 100 MB per upload (before base64)
NULL_CELL = "#N/A"  # Bulk API 2.0: an empty cell leaves the field alone; #N/A sets it to null
_TERMINAL = frozenset({"JobComplete", "Failed", "Aborted"})
_OPERATIONS = {
    WriteOperation.CREATE: "insert",
    WriteOperation.UPDATE: "update",
    WriteOperation.UPSERT: "upsert",
}


# create, upload, close, at least one poll, successful and failed results
_CALLS_PER_JOB = 6


def csv_cell(value: Any) -> str:
    """One CSV cell: ``None`` and ``""`` clear the field (Bulk API 2.0 reads an empty cell as
    "leave unchanged", so a clear must be ``#N/A``, as Collections stores ``""`` as null);
    booleans lower-case, dates ISO."""
    if value is None or value == "":
        return NULL_CELL
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dt.date, dt.datetime)):
        return str(json_ready(value))
    return str(json_ready(value))


class BulkWriter:
    """Runs Bulk API 2.0 ingest jobs for large groups of writes.

    ``sleep`` and ``clock`` are injectable so tests never wait; polling backs off from
    ``first_poll`` to ``max_poll`` seconds and gives up after ``timeout`` seconds.
    """

    def __init__(
        self,
        client: SalesforceClient,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        first_poll: float = 0.25,
        max_poll: float = 2.0,
        timeout: float = 1800.0,
    ) -> None:
        self.client = client
        self.sleep = sleep
        self.clock = clock
        self.first_poll = first_poll
        self.max_poll = max_poll
        self.timeout = timeout

    def write(self, items: Sequence[Indexed], results: dict[int, WriteResult]) -> list[Indexed]:
        """Write ``items`` (one object and operation); fill ``results`` and return the items
        refused with a retriable per-record error (for a retry through Collections)."""
        retry: list[Indexed] = []
        for part in _split_by_size(items):
            retry.extend(self._job(part, results))
        return retry

    def _job(self, items: Sequence[Indexed], results: dict[int, WriteResult]) -> list[Indexed]:
        """One ingest job, start to results. The API budget is checked once, up front, for the
        calls a job takes at least: once the data is uploaded Salesforce writes it, so the job is
        always seen through and its results recorded."""
        with self.client.budget.committed(_CALLS_PER_JOB):
            return self._run_job(items, results)

    def _run_job(self, items: Sequence[Indexed], results: dict[int, WriteResult]) -> list[Indexed]:
        first = items[0][1]
        columns = _columns(items)
        text, row_keys = _csv(items, columns)
        job_spec: dict[str, Any] = {
            "object": first.object,
            "operation": _OPERATIONS[first.operation],
            "contentType": "CSV",
            "lineEnding": "LF",
            "columnDelimiter": "COMMA",
        }
        if first.operation is WriteOperation.UPSERT:
            job_spec["externalIdFieldName"] = first.external_id_field
        what = f"bulk {job_spec['operation']} of {len(items)} {first.object} record(s)"
        job = self.client.request("POST", "jobs/ingest", what=what, json=job_spec).json()
        job_id = str(job["id"])
        self.client.request(
            "PUT",
            f"jobs/ingest/{job_id}/batches",
            what=what,
            data=text.encode("utf-8"),
            headers={"Content-Type": "text/csv"},
        )
        self.client.request("PATCH", f"jobs/ingest/{job_id}", what=what, json={"state": "UploadComplete"})
        try:
            return self._finish(
                job_id, what, items=items, columns=columns, row_keys=row_keys, results=results
            )
        except BudgetExhaustedError as exc:
            # The org's daily limit hit while polling: Salesforce writes the uploaded rows anyway,
            # so they were sent; only their answer is unknown (the next run's lookup finds them).
            unknown = WriteError(
                code="UNCONFIRMED",
                message=f"bulk job {job_id} was uploaded but its results could not be fetched: {exc.message}",
                retriable=True,
            )
            for index, write in items:
                results.setdefault(index, WriteResult(key=write.key, ok=False, error=unknown))
            raise

    def _finish(
        self,
        job_id: str,
        what: str,
        *,
        items: Sequence[Indexed],
        columns: list[str],
        row_keys: list[tuple[str, ...]],
        results: dict[int, WriteResult],
    ) -> list[Indexed]:
        """Wait for an uploaded job, then map its result rows back to their writes."""
        info = self._wait(job_id, what)
        waiting: dict[tuple[str, ...], deque[Indexed]] = defaultdict(deque)
        for key, item in zip(row_keys, items, strict=True):
            waiting[key].append(item)
        retry: list[Indexed] = []

        def take(row: dict[str, str]) -> Indexed | None:
            queue = waiting.get(tuple(row.get(column, "") for column in columns))
            return queue.popleft() if queue else None

        if int(info.get("numberRecordsProcessed") or 0) - int(info.get("numberRecordsFailed") or 0) > 0:
            for row in self._rows(job_id, "successfulResults", what):
                found = take(row)
                if found is not None:
                    index, write = found
                    created = row.get("sf__Created", "").lower() == "true"
                    results[index] = WriteResult(
                        key=write.key,
                        ok=True,
                        target_id=row.get("sf__Id") or write.target_id,
                        created=created or write.operation is WriteOperation.CREATE,
                    )
        if int(info.get("numberRecordsFailed") or 0) > 0:
            for row in self._rows(job_id, "failedResults", what):
                found = take(row)
                if found is None:
                    continue
                index, write = found
                error = _bulk_error(row.get("sf__Error", ""))
                if error.code in RESEND_NOW_RECORD_CODES:
                    retry.append(found)
                else:
                    results[index] = WriteResult(key=write.key, ok=False, error=error)
        leftover = [item for queue in waiting.values() for item in queue if item[0] not in results]
        if leftover and info.get("state") != "JobComplete":
            # Rows the job never reached; the unprocessed list only confirms it, so it is not fetched.
            reason = str(info.get("errorMessage") or f"the bulk job ended {info.get('state')}")
        else:
            reason = "the bulk job returned no result for this record"
        retried = {index for index, _ in retry}
        for index, write in sorted(leftover, key=lambda item: item[0]):
            if index in retried:
                continue
            results[index] = WriteResult(
                key=write.key,
                ok=False,
                error=WriteError(
                    code="UNPROCESSED", message=reason, retriable=True, stage=WriteErrorStage.TARGET
                ),
            )
        return sorted(retry, key=lambda item: item[0])

    def _wait(self, job_id: str, what: str) -> dict[str, Any]:
        deadline = self.clock() + self.timeout
        delay = self.first_poll
        while True:
            self.sleep(delay)
            info: dict[str, Any] = self.client.request("GET", f"jobs/ingest/{job_id}", what=what).json()
            if info.get("state") in _TERMINAL:
                return info
            if self.clock() > deadline:
                raise TransientAdapterError(
                    f"{what}: job {job_id} still {info.get('state')} after {self.timeout:.0f}s",
                    hint="Salesforce is slow to process the job; it may still finish - retry later",
                    job_id=job_id,
                )
            delay = min(delay * 2, self.max_poll)

    def _rows(self, job_id: str, kind: str, what: str) -> Iterator[dict[str, str]]:
        """The result rows, read one at a time (a job's 30,000 rows as dicts would take 30 MB)."""
        response = self.client.request("GET", f"jobs/ingest/{job_id}/{kind}", what=what)
        return csv_rows(response.content)


def _columns(items: Sequence[Indexed]) -> list[str]:
    first = items[0][1]
    columns: dict[str, None] = {}
    if first.operation is WriteOperation.UPDATE:
        columns["Id"] = None
    for _, write in items:
        for name in write.fields:
            if first.operation is WriteOperation.UPDATE and name.lower() == "id":
                continue
            columns.setdefault(name, None)
    return list(columns)


def _csv(items: Sequence[Indexed], columns: list[str]) -> tuple[str, list[tuple[str, ...]]]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    keys: list[tuple[str, ...]] = []
    for _, write in items:
        row = tuple(
            (write.target_id or "")
            if column == "Id" and write.operation is WriteOperation.UPDATE
            else (csv_cell(write.fields[column]) if column in write.fields else "")
            for column in columns
        )
        writer.writerow(row)
        keys.append(row)
    return buffer.getvalue(), keys


def _split_by_size(items: Sequence[Indexed]) -> list[Sequence[Indexed]]:
    # A rough size per record keeps each upload under the limit without encoding twice.
    parts: list[Sequence[Indexed]] = []
    start = 0
    size = 0
    for position, (_, write) in enumerate(items):
        record_size = sum(len(str(value)) + 3 for value in write.fields.values()) + 40
        if size + record_size > MAX_UPLOAD_BYTES and position > start:
            parts.append(items[start:position])
            start, size = position, 0
        size += record_size
    parts.append(items[start:])
    return parts


_FIELD_LIST = re.compile(r"^[A-Za-z][\w.]*(?:,[A-Za-z][\w.]*)*$")


def _bulk_error(text: str) -> WriteError:
    """A Bulk API 2.0 ``sf__Error``: ``CODE:message:Field1,Field2 --``, or ``CODE:message:--``.

    The message may itself contain colons, so the last part counts as fields only when it ends in
    ``--`` or is a plain list of field names.
    """
    code, _, rest = text.partition(":")
    message = rest
    fields: tuple[str, ...] = ()
    head, colon, tail = rest.rpartition(":")
    if colon:
        tail = tail.strip()
        ended = tail.endswith("--")
        names = tail.removesuffix("--").strip()
        if ended or _FIELD_LIST.match(names):
            message = head
            fields = tuple(name.strip() for name in names.split(",") if name.strip())
    code = code.strip() or "UNKNOWN_ERROR"
    return WriteError(
        code=code,
        message=message.strip() or text,
        fields=fields,
        retriable=record_code_retriable(code),
        stage=WriteErrorStage.TARGET,
    )
