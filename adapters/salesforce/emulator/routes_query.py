"""``query`` / ``queryAll`` with ``nextRecordsUrl`` paging, plus versions, resources and limits."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from fieldline.adapters.salesforce.emulator.context import (
    ApiFailure,
    Emulator,
    api_endpoint,
    json_response,
    not_found,
)
from fieldline.adapters.salesforce.emulator.describe import render_record
from fieldline.adapters.salesforce.emulator.query_columns import columns_body
from fieldline.adapters.salesforce.emulator.routes_sobjects import BASE, version_of
from fieldline.adapters.salesforce.emulator.routing import resource
from fieldline.adapters.salesforce.emulator.soql import CompiledQuery, ResolvedPath, SoqlError, compile_query
from fieldline.adapters.salesforce.emulator.state import API_VERSIONS
from fieldline.adapters.salesforce.emulator.store import Record, Store
from fieldline.adapters.salesforce.emulator.validation import ApiError

__all__ = ["render", "routes"]

MAX_CURSORS = 1000
_BATCH_SIZE = re.compile(r"batchSize\s*=\s*(\d+)", re.IGNORECASE)
_cursor_numbers = itertools.count(1)


@dataclass(slots=True)
class Cursor:
    """The rest of a query's result, kept for ``nextRecordsUrl``."""

    compiled: CompiledQuery
    records: list[Record]
    batch_size: int
    path: str  # "query" or "queryAll"


def render(store: Store, compiled: CompiledQuery, record: Record, version: str) -> Record:
    obj = compiled.table.obj
    out = render_record(obj, record, version, ())
    for path in compiled.select:
        _put(store, out, record, path, version)
    for child in compiled.children:
        rows = child.run(store, record["Id"])
        # Salesforce answers null, not an empty result, for a parent without children.
        out[child.relationship] = (
            {
                "totalSize": len(rows),
                "done": True,
                "records": [render(store, child.compiled, r, version) for r in rows],
            }
            if rows
            else None
        )
    return out


def _put(store: Store, out: Record, record: Record, path: ResolvedPath, version: str) -> None:
    if not path.hops:
        out[path.field.name] = record.get(path.field.name)
        return
    target: Record = out
    current: Record | None = record
    for hop in path.hops:
        rel = hop.relationship_name or hop.name
        ref = current.get(hop.name) if current is not None else None
        found = store.get(ref) if ref else None
        if found is None:
            if rel not in target:
                target[rel] = None
            return
        table, current = found
        nested = target.get(rel)
        if not isinstance(nested, dict):
            nested = render_record(table.obj, current, version, ())
            target[rel] = nested
        target = nested
    assert current is not None
    target[path.field.name] = current.get(path.field.name)


def _batch_size(request: Request, emu: Emulator) -> int:
    header = request.headers.get("sforce-query-options", "")
    match = _BATCH_SIZE.search(header)
    default = emu.settings.query_page_size
    if match is None:
        return default
    return max(200, min(2000, int(match.group(1))))


def _page(emu: Emulator, cursor: Cursor, start: int, version: str, cursor_id: str) -> dict[str, Any]:
    end = start + cursor.batch_size
    page = [render(emu.store, cursor.compiled, r, version) for r in cursor.records[start:end]]
    body: dict[str, Any] = {
        "totalSize": len(cursor.records),
        "done": end >= len(cursor.records),
        "records": page,
    }
    if end < len(cursor.records):
        body["nextRecordsUrl"] = f"/services/data/v{version}/{cursor.path}/{cursor_id}-{end}"
    else:
        emu.cursors.pop(cursor_id, None)
    return body


def _run(request: Request, emu: Emulator, *, include_deleted: bool) -> Response:
    soql = request.query_params.get("q")
    if soql is None or not soql.strip():
        raise ApiFailure(400, ApiError("MALFORMED_QUERY", "A query string has to be specified"))
    try:
        compiled = compile_query(emu.store, soql)
        records = compiled.run(emu.store, include_deleted=include_deleted)
    except SoqlError as exc:
        raise ApiFailure(400, ApiError(exc.code, exc.message)) from exc
    version = version_of(request)
    query = compiled.query
    if request.query_params.get("columns", "").lower() == "true":
        return json_response(columns_body(compiled))
    if query.count_only:
        return json_response({"totalSize": len(records), "done": True, "records": []})
    aggregates = [item for item in query.select if item.aggregate]
    if aggregates:
        if len(aggregates) != len(query.select):
            raise ApiFailure(400, ApiError("MALFORMED_QUERY", "Field must be grouped or aggregated"))
        row: Record = {"attributes": {"type": "AggregateResult"}}
        unnamed = 0  # exprN numbers only the aggregates without an alias
        for item, path in zip(query.select, compiled.select, strict=True):
            name = item.alias or f"expr{unnamed}"
            unnamed += item.alias is None
            row[name] = sum(1 for r in records if r.get(path.field.name) is not None)
        return json_response({"totalSize": 1, "done": True, "records": [row]})
    cursor = Cursor(compiled, records, _batch_size(request, emu), "queryAll" if include_deleted else "query")
    cursor_id = f"01g8d00000{next(_cursor_numbers):08d}"
    if len(records) > cursor.batch_size:
        if len(emu.cursors) >= MAX_CURSORS:
            emu.cursors.pop(next(iter(emu.cursors)))
        emu.cursors[cursor_id] = cursor
    return json_response(_page(emu, cursor, 0, version, cursor_id))


@api_endpoint("query")
async def query(request: Request, emu: Emulator) -> Response:
    return _run(request, emu, include_deleted=False)


@api_endpoint("query")
async def query_all(request: Request, emu: Emulator) -> Response:
    return _run(request, emu, include_deleted=True)


@api_endpoint("query_more")
async def query_more(request: Request, emu: Emulator) -> Response:
    locator = request.path_params["locator"]
    cursor_id, _, start_text = locator.rpartition("-")
    cursor = emu.cursors.get(cursor_id)
    if cursor is None or not start_text.isdigit():
        raise ApiFailure(400, ApiError("INVALID_QUERY_LOCATOR", "invalid query locator"))
    return json_response(_page(emu, cursor, int(start_text), version_of(request), cursor_id))


async def versions(request: Request) -> Response:
    """``GET /services/data/``: no session needed and no limit header, like Salesforce."""
    body = [{"label": f"v{v}", "url": f"/services/data/v{v}", "version": v} for v in API_VERSIONS]
    return json_response(body)


@api_endpoint("resources")
async def resources(request: Request, emu: Emulator) -> Response:
    base = f"/services/data/{request.path_params['version']}"
    names = ("sobjects", "query", "queryAll", "search", "composite", "jobs", "limits")
    body = {name: f"{base}/{name}" for name in names}
    # Salesforce lists the identity URL as an absolute one (the CLI follows it to find the user).
    body["identity"] = f"{str(request.base_url).rstrip('/')}/id/{emu.settings.org_id}/{emu.settings.user_id}"
    return json_response(body)


@api_endpoint("limits")
async def record_count(request: Request, emu: Emulator) -> Response:
    """``GET /limits/recordCount[?sObjects=Account,Contact]``: live records per object."""
    wanted = [n for n in request.query_params.get("sObjects", "").split(",") if n.strip()]
    tables = [emu.store.table(n.strip()) for n in wanted] if wanted else list(emu.store.tables.values())
    counts = [{"count": len(t.rows), "name": t.obj.name} for t in tables if t is not None]
    return json_response({"sObjects": counts})


@api_endpoint("limits")
async def limits(request: Request, emu: Emulator) -> Response:
    limit = emu.faults.daily_limit
    used = emu.stats.api_usage
    return json_response(
        {
            "DailyApiRequests": {"Max": limit, "Remaining": max(0, limit - used)},
            "DailyBulkV2QueryJobs": {"Max": 10000, "Remaining": 10000},
            "DailyBulkApiBatches": {"Max": 15000, "Remaining": 15000 - len(emu.jobs)},
            "DataStorageMB": {"Max": 1024, "Remaining": 1024},
        }
    )


async def unknown_resource(request: Request) -> Response:
    raise not_found()


routes = [
    *resource("/services/data", slash=True, GET=versions),
    *resource(BASE, slash=True, GET=resources),
    *resource(f"{BASE}/limits", slash=True, GET=limits),
    *resource(f"{BASE}/limits/recordCount", slash=True, GET=record_count),
    *resource(f"{BASE}/query", slash=True, GET=query),
    *resource(f"{BASE}/queryAll", slash=True, GET=query_all),
    *resource(f"{BASE}/query/{{locator}}", GET=query_more),
    *resource(f"{BASE}/queryAll/{{locator}}", GET=query_more),
]
