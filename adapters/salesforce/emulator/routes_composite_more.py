"""Composite Batch (independent subrequests, ``haltOnError``) and sObject Tree (nested records
created all-or-nothing), per the REST API Developer Guide's "Composite Batch" and "sObject Tree".
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from fieldline.adapters.salesforce.emulator.context import (
    ApiFailure,
    Emulator,
    api_endpoint,
    json_response,
    read_json,
)
from fieldline.adapters.salesforce.emulator.describe import child_relationships
from fieldline.adapters.salesforce.emulator.routes_composite import MAX_SUBREQUESTS, dispatch
from fieldline.adapters.salesforce.emulator.routes_sobjects import BASE, get_table
from fieldline.adapters.salesforce.emulator.routing import resource
from fieldline.adapters.salesforce.emulator.store import Table
from fieldline.adapters.salesforce.emulator.validation import ApiError, prepare

__all__ = ["MAX_TREE_DEPTH", "MAX_TREE_RECORDS", "routes"]

MAX_TREE_RECORDS = 200
MAX_TREE_DEPTH = 5
HALTED = "The transaction was rolled back since another operation in the same transaction failed."


def _bad_request(code: str, message: str) -> ApiFailure:
    return ApiFailure(400, ApiError(code, message))


# -- Composite Batch -----------------------------------------------------------------------------
def _batch_url(raw: Any) -> str:
    """``v59.0/sobjects/Account`` (relative to ``/services/data``, as documented) or an absolute path."""
    url = str(raw or "")
    if url.startswith("/services/data/"):
        return url
    return "/services/data/" + url.lstrip("/")


@api_endpoint("composite_batch")
async def composite_batch(request: Request, emu: Emulator) -> Response:
    body = await read_json(request)
    subrequests = body.get("batchRequests") if isinstance(body, dict) else None
    if not isinstance(subrequests, list) or not subrequests:
        raise _bad_request("JSON_PARSER_ERROR", "The request body needs a batchRequests array")
    if len(subrequests) > MAX_SUBREQUESTS:
        raise _bad_request("LIMIT_EXCEEDED", f"Limit of {MAX_SUBREQUESTS} batch requests exceeded")
    for sub in subrequests:
        if not isinstance(sub, dict) or sub.get("method") not in ("GET", "POST", "PATCH", "PUT", "DELETE"):
            raise _bad_request("INVALID_INPUT", "Each batch request needs a method and a url")
    halt = body.get("haltOnError") is True
    results: list[dict[str, Any]] = []
    has_errors = False
    for sub in subrequests:
        if halt and has_errors:
            halted = [{"errorCode": "BATCH_PROCESSING_HALTED", "message": "Batch processing halted"}]
            results.append({"statusCode": 412, "result": halted})
            continue
        status, payload = await dispatch(
            request, emu, sub["method"], _batch_url(sub.get("url")), sub.get("richInput")
        )
        results.append({"statusCode": status, "result": payload})
        has_errors = has_errors or status >= 400
    return json_response({"hasErrors": has_errors, "results": results})


# -- sObject Tree --------------------------------------------------------------------------------
class _TreeError(Exception):
    def __init__(self, reference: str | None, *errors: ApiError) -> None:
        super().__init__(reference)
        self.reference = reference
        self.errors = errors


def _count(records: list[Any], depth: int) -> int:
    """Records in the tree; a malformed or too deep tree is a 400 before anything is written."""
    if depth > MAX_TREE_DEPTH:
        raise _bad_request("INVALID_INPUT", f"A tree can be at most {MAX_TREE_DEPTH} levels deep")
    total = 0
    for record in records:
        if not isinstance(record, dict) or not isinstance(record.get("attributes"), dict):
            raise _bad_request("INVALID_INPUT", "Each record needs attributes with type and referenceId")
        total += 1
        for value in record.values():
            if isinstance(value, dict) and isinstance(value.get("records"), list):
                total += _count(value["records"], depth + 1)
    return total


def _insert(
    emu: Emulator,
    table: Table,
    record: dict[str, Any],
    parent: tuple[str, str] | None,
    out: list[dict[str, Any]],
) -> None:
    attributes = record["attributes"]
    reference = attributes.get("referenceId")
    if not isinstance(reference, str) or not reference:
        raise _TreeError(None, ApiError("INVALID_INPUT", "Each record needs a referenceId"))
    if any(done["referenceId"] == reference for done in out):
        raise _TreeError(reference, ApiError("INVALID_INPUT", f"Duplicate referenceId: {reference}"))
    type_name = attributes.get("type")
    if isinstance(type_name, str) and type_name.lower() != table.obj.name.lower():
        raise _TreeError(reference, ApiError("INVALID_TYPE", f"Expected a {table.obj.name}, got {type_name}"))
    relationships = {r["relationshipName"].lower(): r for r in child_relationships(emu.org, table.obj)}
    fields = {}
    children: list[tuple[dict[str, Any], list[Any]]] = []
    for key, value in record.items():
        if key == "attributes":
            continue
        relationship = relationships.get(key.lower())
        if relationship is not None and isinstance(value, dict) and isinstance(value.get("records"), list):
            children.append((relationship, value["records"]))
        else:
            fields[key] = value
    if parent is not None:
        fields[parent[0]] = parent[1]
    values, errors = prepare(emu.store, table, fields)
    if errors:
        raise _TreeError(reference, *errors)
    record_id = emu.store.insert(table, values)["Id"]
    out.append({"referenceId": reference, "id": record_id})
    for relationship, child_records in children:
        child_table = emu.store.table(relationship["childSObject"])
        assert child_table is not None  # child_relationships names only objects of the org
        for child in child_records:
            _insert(emu, child_table, child, (relationship["field"], record_id), out)


@api_endpoint("composite_tree")
async def composite_tree(request: Request, emu: Emulator) -> Response:
    table = get_table(emu, request.path_params["obj"])
    body = await read_json(request)
    records = body.get("records") if isinstance(body, dict) else None
    if not isinstance(records, list) or not records:
        raise _bad_request("JSON_PARSER_ERROR", "The request body needs a records array")
    if _count(records, 1) > MAX_TREE_RECORDS:
        raise _bad_request("LIMIT_EXCEEDED", f"A tree can hold at most {MAX_TREE_RECORDS} records")
    results: list[dict[str, Any]] = []
    with emu.store.transaction() as tx:
        try:
            for record in records:
                _insert(emu, table, record, None, results)
        except _TreeError as failure:
            tx.rollback()
            errors = [e.per_record() for e in failure.errors]
            return json_response(
                {"hasErrors": True, "results": [{"referenceId": failure.reference, "errors": errors}]}, 400
            )
    return json_response({"hasErrors": False, "results": results}, 201)


routes = [
    *resource(f"{BASE}/composite/batch", slash=True, POST=composite_batch),
    *resource(f"{BASE}/composite/tree/{{obj}}", slash=True, POST=composite_tree),
]
