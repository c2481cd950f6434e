"""sObject resources: describe, create/read/update/delete by id, get/upsert/delete by external id."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import unquote_plus

from starlette.requests import Request
from starlette.responses import Response

from fieldline.adapters.salesforce.emulator.context import (
    ApiFailure,
    Emulator,
    api_endpoint,
    json_response,
    not_found,
    read_json,
)
from fieldline.adapters.salesforce.emulator.describe import (
    describe_global,
    describe_object,
    object_summary,
    render_record,
)
from fieldline.adapters.salesforce.emulator.ids import normalize_id
from fieldline.adapters.salesforce.emulator.org import FieldDef
from fieldline.adapters.salesforce.emulator.routing import resource
from fieldline.adapters.salesforce.emulator.store import Record, Table
from fieldline.adapters.salesforce.emulator.validation import (
    TYPE_ERROR,
    ApiError,
    format_datetime,
    parse_datetime,
    prepare,
)

__all__ = ["routes", "version_of"]

BASE = "/services/data/{version}"


def version_of(request: Request) -> str:
    return str(request.path_params["version"])[1:]


def get_table(emu: Emulator, name: str) -> Table:
    table = emu.store.table(name)
    if table is None:
        raise not_found()
    return table


async def json_object(request: Request) -> dict[str, Any]:
    body = await read_json(request)
    if not isinstance(body, dict):
        raise ApiFailure(
            400,
            ApiError("JSON_PARSER_ERROR", "Cannot deserialize instance of SObject from a non-object value"),
        )
    return body


def raise_single(errors: list[ApiError]) -> None:
    """Top-level 400 for validation errors of a single-record call (type errors are parse errors)."""
    if errors:
        first = errors[0]
        if first.code == TYPE_ERROR:
            first = ApiError("JSON_PARSER_ERROR", f"Cannot deserialize value: {first.message}", first.fields)
        raise ApiFailure(400, first, *errors[1:])


def raise_fault(emu: Emulator, record_id: str | None = None) -> None:
    fault = emu.write_fault(record_id)
    if fault is not None:
        raise ApiFailure(400 if fault.code == "UNABLE_TO_LOCK_ROW" else 500, fault)


def parse_fields(table: Table, raw: str | None) -> list[str] | None:
    """Canonical names of a ``fields=A,B`` parameter; 400 ``INVALID_FIELD`` for unknown ones."""
    if raw is None:
        return None
    names = []
    for piece in raw.split(","):
        part = piece.strip()
        if not part:
            continue
        field = table.obj.field(part)
        if field is None:
            raise ApiFailure(
                400,
                ApiError(
                    "INVALID_FIELD",
                    f"No such column '{part}' on entity '{table.obj.name}'. If you are"
                    " attempting to use a custom field, be sure to append the '__c' after the custom field"
                    " name. Please reference your WSDL or the describe call for the appropriate names.",
                ),
            )
        names.append(field.name)
    return names


def find_live(emu: Emulator, table: Table, record_id: str, *, writing: bool = True) -> Record:
    """The live record ``record_id``: 404 ``NOT_FOUND`` (``ENTITY_IS_DELETED`` when writing a deleted one)."""
    canonical = normalize_id(record_id)
    record = table.rows.get(canonical) if canonical else None
    if record is None:
        if writing and canonical and canonical in table.deleted:
            raise ApiFailure(404, ApiError("ENTITY_IS_DELETED", "entity is deleted"))
        raise not_found()
    return record


def save_result(record_id: str | None, created: bool | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"id": record_id, "success": True, "errors": []}
    if created is not None:
        body["created"] = created
    return body


# -- describe ----------------------------------------------------------------------------------
@api_endpoint("describe_global")
async def global_describe(request: Request, emu: Emulator) -> Response:
    return json_response(describe_global(emu.org, version_of(request)))


@api_endpoint("describe")
async def sobject_describe(request: Request, emu: Emulator) -> Response:
    table = get_table(emu, request.path_params["obj"])
    return json_response(describe_object(emu.org, table.obj, version_of(request)))


@api_endpoint("describe")
async def sobject_info(request: Request, emu: Emulator) -> Response:
    table = get_table(emu, request.path_params["obj"])
    return json_response(
        {"objectDescribe": object_summary(table.obj, version_of(request)), "recentItems": []}
    )


# -- by id ---------------------------------------------------------------------------------------
@api_endpoint("sobject_create")
async def sobject_create(request: Request, emu: Emulator) -> Response:
    table = get_table(emu, request.path_params["obj"])
    body = await json_object(request)
    return create_one(emu, table, body)


def create_one(emu: Emulator, table: Table, body: dict[str, Any], *, created: bool | None = None) -> Response:
    """Insert ``body``: ``201`` SaveResult (``created`` is added for upsert-style creates)."""
    raise_fault(emu)
    values, errors = prepare(emu.store, table, body)
    raise_single(errors)
    record = emu.store.insert(table, values)
    emu.store.flush()
    return json_response(save_result(record["Id"], created=created), 201)


def upsert_created(version: str, created: bool) -> bool | None:
    """An upsert result's ``created`` flag: it exists from API 46.0 on."""
    return created if int(version.partition(".")[0]) >= 46 else None


@api_endpoint("sobject_get")
async def sobject_get(request: Request, emu: Emulator) -> Response:
    table = get_table(emu, request.path_params["obj"])
    fields = parse_fields(table, request.query_params.get("fields"))
    record = find_live(emu, table, request.path_params["record_id"], writing=False)
    return json_response(render_record(table.obj, record, version_of(request), fields))


@api_endpoint("sobject_update")
async def sobject_update(request: Request, emu: Emulator) -> Response:
    table = get_table(emu, request.path_params["obj"])
    record = find_live(emu, table, request.path_params["record_id"])
    body = await json_object(request)
    raise_fault(emu, record["Id"])
    values, errors = prepare(emu.store, table, body, existing=record)
    raise_single(errors)
    emu.store.update(table, record["Id"], values)
    emu.store.flush()
    return Response(status_code=204)


@api_endpoint("sobject_delete")
async def sobject_delete(request: Request, emu: Emulator) -> Response:
    table = get_table(emu, request.path_params["obj"])
    record = find_live(emu, table, request.path_params["record_id"])
    raise_fault(emu, record["Id"])
    emu.store.delete(table, record["Id"])
    emu.store.flush()
    return Response(status_code=204)


@api_endpoint("sobject_upsert")
async def sobject_create_as_upsert(request: Request, emu: Emulator) -> Response:
    """``POST /sobjects/{Obj}/Id``: create, treating Id as an external id with a null value."""
    table = get_table(emu, request.path_params["obj"])
    if request.path_params["record_id"].lower() != "id":
        raise ApiFailure(
            405,
            ApiError("METHOD_NOT_ALLOWED", "HTTP Method 'POST' not allowed. Allowed are GET,PATCH,DELETE"),
        )
    body = await json_object(request)
    return create_one(emu, table, body, created=upsert_created(version_of(request), True))


# -- changes in a time window -------------------------------------------------------------------
def _window(request: Request) -> tuple[datetime, datetime, str]:
    try:
        start = parse_datetime(request.query_params["start"])
        end = parse_datetime(request.query_params["end"])
    except (KeyError, ValueError) as exc:
        raise ApiFailure(
            400,
            ApiError(
                "MISSING_ARGUMENT", "start and end must be ISO 8601 datetimes, e.g. 2024-01-01T00:00:00Z"
            ),
        ) from exc
    if end < start:
        raise ApiFailure(400, ApiError("INVALID_REPLICATION_DATE", "end date is before start date"))
    return start, end, request.query_params["end"]


@api_endpoint("updated")
async def sobject_updated(request: Request, emu: Emulator) -> Response:
    """``GET /sobjects/{Obj}/updated/?start=&end=``: ids of records changed in the window."""
    table = get_table(emu, request.path_params["obj"])
    start, end, _ = _window(request)
    ids = [i for i, r in table.rows.items() if start <= parse_datetime(r["LastModifiedDate"]) < end]
    return json_response({"ids": sorted(ids), "latestDateCovered": format_datetime(end)})


@api_endpoint("deleted")
async def sobject_deleted(request: Request, emu: Emulator) -> Response:
    """``GET /sobjects/{Obj}/deleted/?start=&end=``: records deleted in the window."""
    table = get_table(emu, request.path_params["obj"])
    start, end, _ = _window(request)
    deleted = [
        {"id": i, "deletedDate": r["SystemModstamp"]}
        for i, r in sorted(table.deleted.items())
        if start <= parse_datetime(r["SystemModstamp"]) < end
    ]
    return json_response(
        {
            "deletedRecords": deleted,
            "earliestDateAvailable": format_datetime(start),
            "latestDateCovered": format_datetime(end),
        }
    )


# -- by external id --------------------------------------------------------------------------------
def external_field(table: Table, name: str) -> FieldDef:
    field = table.obj.field(name)
    if field is None or not (field.external_id or field.id_lookup):
        raise not_found(f"Provided external ID field does not exist or is not accessible: {name}")
    return field


def external_value(request: Request) -> str:
    """The value segment(s) after ``/sobjects/{Obj}/{Field}/``, decoded like Salesforce (``+`` = space)."""
    raw = request.scope.get("raw_path") or request.url.path.encode()
    segments = raw.decode("latin-1").split("?", 1)[0].split("/")
    return unquote_plus("/".join(segments[7:]))


def matches(table: Table, field: FieldDef, value: str) -> list[str]:
    return table.find(field.name, value) if value != "" else []


def multiple_choices(table: Table, ids: list[str], version: str) -> Response:
    urls = [f"/services/data/v{version}/sobjects/{table.obj.name}/{i}" for i in ids]
    return json_response(urls, 300)


@api_endpoint("sobject_get")
async def external_get(request: Request, emu: Emulator) -> Response:
    table = get_table(emu, request.path_params["obj"])
    field = external_field(table, request.path_params["field"])
    fields = parse_fields(table, request.query_params.get("fields"))
    ids = matches(table, field, external_value(request))
    if not ids:
        raise not_found()
    if len(ids) > 1:
        return multiple_choices(table, ids, version_of(request))
    return json_response(render_record(table.obj, table.rows[ids[0]], version_of(request), fields))


@api_endpoint("sobject_upsert")
async def external_upsert(request: Request, emu: Emulator) -> Response:
    table = get_table(emu, request.path_params["obj"])
    field = external_field(table, request.path_params["field"])
    value = external_value(request)
    body = await json_object(request)
    version = version_of(request)
    for key, given in body.items():
        if key.lower() == field.name.lower() and given is not None and str(given).lower() != value.lower():
            raise ApiFailure(
                400,
                ApiError(
                    "INVALID_FIELD",
                    f"The value of the external ID field {field.name} in the body does not"
                    " match the value in the URL",
                    (field.name,),
                ),
            )
    if field.type != "id" and any(key.lower() == "id" for key in body):
        raise ApiFailure(
            400, ApiError("INVALID_FIELD", "The Id field should not be specified in the sobject data.")
        )
    ids = matches(table, field, value)
    if len(ids) > 1:
        return multiple_choices(table, ids, version)
    if ids:
        raise_fault(emu, ids[0])
        values, errors = prepare(
            emu.store, table, body, existing=table.rows[ids[0]], ignore=frozenset({"id"})
        )
        raise_single(errors)
        emu.store.update(table, ids[0], values)
        emu.store.flush()
        if int(version.split(".")[0]) < 46:
            return Response(status_code=204)
        return json_response(save_result(ids[0], created=False), 200)
    if request.query_params.get("updateOnly", "").lower() == "true" or field.type == "id":
        raise not_found()
    raise_fault(emu)
    body = {k: v for k, v in body.items() if k.lower() != field.name.lower()}
    body[field.name] = value
    values, errors = prepare(emu.store, table, body)
    raise_single(errors)
    record = emu.store.insert(table, values)
    emu.store.flush()
    return json_response(save_result(record["Id"], created=upsert_created(version, True)), 201)


@api_endpoint("sobject_delete")
async def external_delete(request: Request, emu: Emulator) -> Response:
    table = get_table(emu, request.path_params["obj"])
    field = external_field(table, request.path_params["field"])
    ids = matches(table, field, external_value(request))
    if not ids:
        raise not_found()
    if len(ids) > 1:
        return multiple_choices(table, ids, version_of(request))
    raise_fault(emu, ids[0])
    emu.store.delete(table, ids[0])
    emu.store.flush()
    return Response(status_code=204)


SOBJECT = f"{BASE}/sobjects/{{obj}}"
routes = [
    *resource(f"{BASE}/sobjects", slash=True, GET=global_describe),
    *resource(f"{SOBJECT}/describe", slash=True, GET=sobject_describe),
    *resource(SOBJECT, slash=True, GET=sobject_info, POST=sobject_create),
    *resource(f"{SOBJECT}/updated", slash=True, GET=sobject_updated),
    *resource(f"{SOBJECT}/deleted", slash=True, GET=sobject_deleted),
    *resource(
        f"{SOBJECT}/{{record_id}}",
        GET=sobject_get,
        PATCH=sobject_update,
        DELETE=sobject_delete,
        POST=sobject_create_as_upsert,
    ),
    *resource(
        f"{SOBJECT}/{{field}}/{{value:path}}", GET=external_get, PATCH=external_upsert, DELETE=external_delete
    ),
]
