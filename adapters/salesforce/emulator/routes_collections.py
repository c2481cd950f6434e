"""sObject Collections: create, update, upsert, get and delete up to 200 records per call.

Results come back in request order. With ``allOrNone`` every write of the call is undone when one
record fails; the failing records keep their real error and the others report
``ALL_OR_NONE_OPERATION_ROLLED_BACK``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
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
from fieldline.adapters.salesforce.emulator.describe import render_record
from fieldline.adapters.salesforce.emulator.ids import normalize_id
from fieldline.adapters.salesforce.emulator.routes_sobjects import (
    BASE,
    external_field,
    get_table,
    parse_fields,
    save_result,
    version_of,
)
from fieldline.adapters.salesforce.emulator.routing import resource
from fieldline.adapters.salesforce.emulator.store import Store, Table, index_key
from fieldline.adapters.salesforce.emulator.validation import ApiError, missing_record, prepare
from fieldline.contracts import field_value

__all__ = ["MAX_RECORDS", "routes"]

MAX_RECORDS = 200
ROLLED_BACK = ApiError(
    "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "Record rolled back because not all records were valid and the request was using AllOrNone header",
)

Result = dict[str, Any]


def failure(record_id: str | None, *errors: ApiError) -> Result:
    return {"id": record_id, "success": False, "errors": [e.per_record() for e in errors]}


def _too_many() -> ApiFailure:
    return ApiFailure(
        400,
        ApiError(
            "EXCEEDED_ID_LIMIT",
            f"record limit reached. cannot submit more than {MAX_RECORDS} records into this call",
        ),
    )


async def _records_body(request: Request) -> tuple[list[Any], bool]:
    body = await read_json(request)
    if not isinstance(body, dict) or not isinstance(body.get("records"), list):
        raise ApiFailure(
            400, ApiError("JSON_PARSER_ERROR", "The request body must be an object with a 'records' array")
        )
    records: list[Any] = body["records"]
    if len(records) > MAX_RECORDS:
        raise _too_many()
    all_or_none = body.get("allOrNone", False)
    if not isinstance(all_or_none, bool):
        raise ApiFailure(400, ApiError("JSON_PARSER_ERROR", "allOrNone must be true or false"))
    return records, all_or_none


def _run_batch(
    emu: Emulator,
    items: list[Any],
    all_or_none: bool,
    one: Callable[[Any], Result],
    *,
    keep_ids: bool = False,
) -> list[Result]:
    """Apply ``one`` to each item inside a transaction; roll all back under allOrNone on any failure.

    Rolled-back records keep their id only when it existed before the call (``keep_ids``, or an
    upsert that matched).
    """
    store: Store = emu.store
    with store.transaction() as tx:
        results = [one(item) for item in items]
        if all_or_none and not all(r["success"] for r in results):
            tx.rollback()
            results = [
                r
                if not r["success"]
                else failure(r["id"] if keep_ids or r.get("created") is False else None, ROLLED_BACK)
                for r in results
            ]
    return results


def _typed(emu: Emulator, one: Callable[[Table, dict[str, Any]], Result]) -> Callable[[Any], Result]:
    """``one`` for a record of the type its ``attributes`` name; a failure for any other record."""

    def typed(record: Any) -> Result:
        if not isinstance(record, dict):
            return failure(None, ApiError("JSON_PARSER_ERROR", "Each record must be a JSON object"))
        attributes = record.get("attributes")
        type_name = attributes.get("type") if isinstance(attributes, dict) else None
        if not isinstance(type_name, str) or not type_name:
            return failure(None, ApiError("INVALID_TYPE", "Must send a concrete entity type."))
        table = emu.store.table(type_name)
        if table is None:
            return failure(None, ApiError("INVALID_TYPE", f"sObject type '{type_name}' is not supported."))
        return one(table, record)

    return typed


def _write(emu: Emulator, table: Table, record_id: str | None, body: Mapping[str, Any]) -> Result:
    """Insert ``body`` (``record_id`` None) or update the live record ``record_id`` with it.

    An injected fault or a validation error fails the record instead.
    """
    fault = emu.write_fault(record_id)
    if fault is not None:
        return failure(record_id, fault)
    existing = None if record_id is None else table.rows[record_id]
    ignore = frozenset() if existing is None else frozenset({"id"})
    values, errors = prepare(emu.store, table, body, existing=existing, ignore=ignore)
    if errors:
        return failure(record_id, *errors)
    if record_id is None:
        return save_result(emu.store.insert(table, values)["Id"])
    emu.store.update(table, record_id, values)
    return save_result(record_id)


@api_endpoint("collections_create")
async def collections_create(request: Request, emu: Emulator) -> Response:
    records, all_or_none = await _records_body(request)

    def one(table: Table, record: dict[str, Any]) -> Result:
        if any(k.lower() == "id" for k in record):
            return failure(None, ApiError("INVALID_FIELD", "cannot specify Id in an insert call", ("Id",)))
        return _write(emu, table, None, record)

    return json_response(_run_batch(emu, records, all_or_none, _typed(emu, one)))


@api_endpoint("collections_update")
async def collections_update(request: Request, emu: Emulator) -> Response:
    records, all_or_none = await _records_body(request)

    def one(table: Table, record: dict[str, Any]) -> Result:
        raw_id = next((v for k, v in record.items() if k.lower() == "id"), None)
        if not raw_id:
            return failure(None, ApiError("MISSING_ARGUMENT", "Id not specified in an update call", ("Id",)))
        canonical = normalize_id(str(raw_id))
        if canonical is None:
            return failure(None, ApiError("MALFORMED_ID", f"invalid record id: {raw_id}", ("Id",)))
        if canonical not in table.rows:
            return failure(canonical, missing_record(table, canonical))
        return _write(emu, table, canonical, record)

    return json_response(_run_batch(emu, records, all_or_none, _typed(emu, one), keep_ids=True))


@api_endpoint("collections_upsert")
async def collections_upsert(request: Request, emu: Emulator) -> Response:
    table = get_table(emu, request.path_params["obj"])
    field = external_field(table, request.path_params["field"])
    records, all_or_none = await _records_body(request)
    seen: Counter[Any] = Counter()
    for record in records:
        if isinstance(record, dict):
            value = field_value(record, field.name)
            if value not in (None, ""):
                seen[index_key(str(value))] += 1

    def one(record: Any) -> Result:
        if not isinstance(record, dict):
            return failure(None, ApiError("JSON_PARSER_ERROR", "Each record must be a JSON object"))
        attributes = record.get("attributes")
        type_name = attributes.get("type") if isinstance(attributes, dict) else None
        if type_name is not None and str(type_name).lower() != table.obj.name.lower():
            return failure(None, ApiError("INVALID_TYPE", f"All records must be of type {table.obj.name}"))
        if field.type != "id" and any(k.lower() == "id" for k in record):
            return failure(
                None, ApiError("INVALID_FIELD", "The Id field should not be specified in the sobject data.")
            )
        value = field_value(record, field.name)
        if value in (None, ""):
            return failure(None, ApiError("MISSING_ARGUMENT", f"{field.name} not specified", (field.name,)))
        value = str(value)
        if seen[index_key(value)] > 1:
            return failure(
                None,
                ApiError("DUPLICATE_EXTERNAL_ID", f"Duplicate external id specified: {value}", (field.name,)),
            )
        ids = table.find(field.name, value)
        if len(ids) > 1:
            return failure(
                None,
                ApiError(
                    "DUPLICATE_EXTERNAL_ID",
                    f"{field.name}: more than one record found for external id field: {ids}",
                    (field.name,),
                ),
            )
        if ids:
            body = {k: v for k, v in record.items() if k.lower() != field.name.lower()}
            return {**_write(emu, table, ids[0], body), "created": False}
        if field.type == "id":
            return failure(
                None, ApiError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", ("Id",))
            )
        inserted = _write(emu, table, None, record)
        return {**inserted, "created": True} if inserted["success"] else inserted

    return json_response(_run_batch(emu, records, all_or_none, one))


def _split(raw: str | None) -> list[str]:
    return [part.strip() for part in (raw or "").split(",") if part.strip()]


async def _get_many(request: Request, emu: Emulator, ids: list[str], fields_raw: str | None) -> Response:
    table = get_table(emu, request.path_params["obj"])
    if not ids:
        raise ApiFailure(400, ApiError("MISSING_ARGUMENT", "ids parameter is required"))
    if not fields_raw:
        raise ApiFailure(400, ApiError("MISSING_ARGUMENT", "fields parameter is required"))
    if len(ids) > 2000:
        raise _too_many()
    fields = parse_fields(table, fields_raw)
    version = version_of(request)
    out: list[Any] = []
    for raw_id in ids:
        canonical = normalize_id(raw_id)
        record = table.rows.get(canonical) if canonical else None
        out.append(
            None if record is None else render_record(table.obj, record, version, ["Id", *(fields or [])])
        )
    return json_response(out)


@api_endpoint("collections_get")
async def collections_get(request: Request, emu: Emulator) -> Response:
    params = request.query_params
    return await _get_many(request, emu, _split(params.get("ids")), params.get("fields"))


@api_endpoint("collections_get")
async def collections_get_post(request: Request, emu: Emulator) -> Response:
    body = await read_json(request)
    if not isinstance(body, dict):
        raise ApiFailure(
            400, ApiError("JSON_PARSER_ERROR", "The request body must be an object with ids and fields")
        )
    ids = [str(i) for i in body.get("ids") or []]
    fields = ",".join(str(f) for f in body.get("fields") or [])
    return await _get_many(request, emu, ids, fields)


@api_endpoint("collections_delete")
async def collections_delete(request: Request, emu: Emulator) -> Response:
    ids = _split(request.query_params.get("ids"))
    if not ids:
        raise ApiFailure(400, ApiError("MISSING_ARGUMENT", "ids parameter is required"))
    if len(ids) > MAX_RECORDS:
        raise _too_many()
    all_or_none = request.query_params.get("allOrNone", "false").lower() == "true"

    def one(raw_id: str) -> Result:
        canonical = normalize_id(raw_id)
        if canonical is None:
            return failure(raw_id, ApiError("MALFORMED_ID", f"malformed id {raw_id}"))
        table = emu.store.table_for_id(canonical)
        if table is None:
            return failure(canonical, ApiError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id"))
        if canonical not in table.rows:
            return failure(canonical, missing_record(table, canonical))
        fault = emu.write_fault(canonical)
        if fault is not None:
            return failure(canonical, fault)
        emu.store.delete(table, canonical)
        return save_result(canonical)

    return json_response(_run_batch(emu, ids, all_or_none, one, keep_ids=True))


COLLECTIONS = f"{BASE}/composite/sobjects"
routes = [
    *resource(COLLECTIONS, POST=collections_create, PATCH=collections_update, DELETE=collections_delete),
    *resource(f"{COLLECTIONS}/{{obj}}", GET=collections_get, POST=collections_get_post),
    *resource(f"{COLLECTIONS}/{{obj}}/{{field}}", PATCH=collections_upsert),
]
