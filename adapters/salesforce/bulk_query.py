"""Reading many records: REST ``query``/``queryMore`` pages, or a Bulk API 2.0 query job.

Both stream: one page in memory at a time. REST costs one call per 2,000 records; a Bulk query
job costs about four calls (create, one or more polls, one per result page of ``page_size``
rows), so it is cheaper above a few thousand records. Bulk CSV cells are typed back to what REST
gives for the same field (``"true"`` -> ``True``, ``"42"`` -> ``42``, ``""`` -> ``None``).
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from fieldline.adapters.salesforce.client import SalesforceClient
from fieldline.contracts import FieldType
from fieldline.errors import FatalAdapterError, TransientAdapterError

__all__ = ["QueryWait", "bulk_records", "csv_rows", "rest_records"]

_TERMINAL = frozenset({"JobComplete", "Failed", "Aborted"})
REST_PAGE_SIZE = 2000  # the most REST query returns per page


@dataclass(frozen=True, slots=True)
class QueryWait:
    """How to wait for a Bulk query job (``sleep`` injectable so tests never wait)."""

    sleep: Callable[[float], None] = time.sleep
    poll_seconds: float = 0.5
    timeout_seconds: float = 3600.0


def rest_records(
    client: SalesforceClient, soql: str, *, what: str, page_size: int = REST_PAGE_SIZE
) -> Iterator[Mapping[str, Any]]:
    """Every record ``soql`` selects, page by page (``attributes`` left in)."""
    page: Mapping[str, Any] = client.request(
        "GET",
        "query/",
        what=what,
        params={"q": soql},
        headers={"Sforce-Query-Options": f"batchSize={min(page_size, REST_PAGE_SIZE)}"},
    ).json()
    while True:
        yield from page.get("records") or ()
        next_url = page.get("nextRecordsUrl")
        if page.get("done", True) or not next_url:
            return
        page = client.call(what, _query_more(str(next_url)))


def bulk_records(
    client: SalesforceClient,
    soql: str,
    types: Mapping[str, FieldType],
    *,
    what: str,
    page_size: int,
    wait: QueryWait | None = None,
) -> Iterator[dict[str, Any]]:
    """Every record ``soql`` selects, through one Bulk API 2.0 query job; ``types`` (lower-case
    field name -> type) turns CSV cells back into typed values."""
    job = client.request(
        "POST",
        "jobs/query",
        what=what,
        json={"operation": "query", "query": soql, "contentType": "CSV", "lineEnding": "LF"},
    ).json()
    job_id = str(job["id"])
    _wait_for(client, job_id, what, wait or QueryWait())
    locator = ""
    while True:
        params = {"maxRecords": str(page_size)}
        if locator:
            params["locator"] = locator
        response = client.request("GET", f"jobs/query/{job_id}/results", what=what, params=params)
        # One page in memory at a time: the rows are parsed and handed out before the next.
        for row in csv_rows(response.content):
            yield _unflatten(row, types)
        locator = response.headers.get("Sforce-Locator") or "null"
        del response
        if locator == "null":
            return


def csv_rows(content: bytes) -> Iterator[dict[str, str]]:
    """The rows of a Bulk API CSV answer (UTF-8), decoded as they are read. A ``StringIO`` of the
    decoded text would hold it as four bytes a character: 200 MB for a 50,000-row page; and
    decoding explicitly spares requests guessing the charset of megabytes of CSV."""
    return csv.DictReader(io.TextIOWrapper(io.BytesIO(content), encoding="utf-8-sig", newline=""))


def _wait_for(client: SalesforceClient, job_id: str, what: str, wait: QueryWait) -> None:
    waited = 0.0
    delay = wait.poll_seconds
    while True:
        info: Mapping[str, Any] = client.request("GET", f"jobs/query/{job_id}", what=what).json()
        state = info.get("state")
        if state == "JobComplete":
            return
        if state in _TERMINAL:
            raise FatalAdapterError(
                f"{what}: Salesforce ended query job {job_id} as {state}: "
                f"{info.get('errorMessage') or 'no reason given'}",
                hint="check the source options' where and fields against `fieldline describe OBJECT`",
                job_id=job_id,
            )
        if waited > wait.timeout_seconds:
            raise TransientAdapterError(
                f"{what}: query job {job_id} still {state} after {waited:.0f}s",
                hint="Salesforce is slow to run the query; retry the export later",
                job_id=job_id,
            )
        wait.sleep(delay)
        waited += delay
        delay = min(delay * 2, 2.0)


def typed_cell(text: str, field_type: FieldType | None) -> Any:
    """A Bulk CSV cell as the value REST query gives for the same field."""
    if text == "":
        return None
    if field_type is FieldType.BOOLEAN:
        return text.lower() == "true"
    if field_type in (FieldType.INT, FieldType.LONG):
        try:
            return int(text)
        except ValueError:
            return float(text)
    if field_type is not None and field_type.is_number:
        number = float(text)
        return int(number) if number.is_integer() and "." not in text and "e" not in text.lower() else number
    return text


def _unflatten(row: Mapping[str, str], types: Mapping[str, FieldType]) -> dict[str, Any]:
    """A Bulk CSV row (``Owner.Name`` columns) as the nested record REST query gives."""
    record: dict[str, Any] = {}
    for column, text in row.items():
        *parents, last = column.split(".")
        target = record
        for parent in parents:
            target = target.setdefault(parent, {})
        target[last] = typed_cell(text, types.get(column.lower()) if not parents else None)
    return record


def _query_more(url: str) -> Callable[[Any], Mapping[str, Any]]:
    def run(sf: Any) -> Mapping[str, Any]:
        page: Mapping[str, Any] = sf.query_more(url, identifier_is_url=True)
        return page

    return run
