"""Bulk API 2.0 ingest endpoints: create, upload (CSV), close/abort, poll, results, delete."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from fieldline.adapters.salesforce.emulator.bulk import OPERATIONS, Job
from fieldline.adapters.salesforce.emulator.bulk_job import DELIMITERS, LINE_ENDINGS, TERMINAL, BulkJob
from fieldline.adapters.salesforce.emulator.bulk_query import QueryJob
from fieldline.adapters.salesforce.emulator.context import (
    ApiFailure,
    Emulator,
    api_endpoint,
    json_response,
    read_json,
)
from fieldline.adapters.salesforce.emulator.routes_sobjects import BASE, version_of
from fieldline.adapters.salesforce.emulator.routing import resource
from fieldline.adapters.salesforce.emulator.soql import SoqlError, compile_query
from fieldline.adapters.salesforce.emulator.validation import ApiError

__all__ = ["routes"]

MAX_UPLOAD_BYTES = 150 * 1024 * 1024


def _invalid_job(message: str) -> ApiFailure:
    return ApiFailure(400, ApiError("INVALIDJOB", message))


def _job(emu: Emulator, request: Request) -> Job:
    return emu.job(request.path_params["job_id"], Job)


def _query_job(emu: Emulator, request: Request) -> QueryJob:
    return emu.job(request.path_params["job_id"], QueryJob)


def _wrong_state(job: BulkJob) -> ApiFailure:
    return ApiFailure(
        409, ApiError("INVALIDJOBSTATE", f"Job state {job.state} does not allow this operation")
    )


def _start(emu: Emulator, job: BulkJob) -> Response:
    """Close the job for processing, run it in the background, and answer its info."""
    job.set_state("UploadComplete")
    emu.in_background(job.run(emu))
    return json_response(job.info(detailed=False))


def _abort(job: BulkJob) -> Response:
    if job.state in TERMINAL:
        raise _wrong_state(job)
    job.set_state("Aborted")
    return json_response(job.info(detailed=False))


def _delete(emu: Emulator, job: BulkJob, *, deletable: tuple[str, ...] = TERMINAL) -> Response:
    if job.state not in deletable:
        raise _wrong_state(job)
    del emu.jobs[job.id]
    return Response(status_code=204)


def _csv_format(body: dict[str, Any]) -> tuple[str, str]:
    """The job's ``columnDelimiter`` and ``lineEnding`` (defaults COMMA and LF)."""
    delimiter = body.get("columnDelimiter") or "COMMA"
    if delimiter not in DELIMITERS:
        raise _invalid_job(f"Invalid column delimiter: {delimiter}")
    line_ending = body.get("lineEnding") or "LF"
    if line_ending not in LINE_ENDINGS:
        raise _invalid_job(f"Invalid line ending: {line_ending}")
    return delimiter, line_ending


@api_endpoint("bulk_create_job")
async def create_job(request: Request, emu: Emulator) -> Response:
    body = await read_json(request)
    if not isinstance(body, dict):
        raise _invalid_job("The request body must be a JSON object")
    table = emu.store.table(str(body.get("object") or ""))
    if table is None:
        raise _invalid_job(f"Unable to find object: {body.get('object')}")
    operation = body.get("operation")
    if operation not in OPERATIONS:
        raise _invalid_job(f"Invalid operation: {operation}")
    delimiter, line_ending = _csv_format(body)
    if (body.get("contentType") or "CSV") != "CSV":
        raise _invalid_job("Only CSV content is supported")
    external = None
    if operation == "upsert":
        name = body.get("externalIdFieldName")
        if not name:
            raise _invalid_job("External ID was blank for upsert")
        external = table.obj.field(str(name))
        if external is None or not (external.external_id or external.id_lookup):
            raise _invalid_job(f"Field {name} is not an external id field on {table.obj.name}")
    job = Job(operation, delimiter, line_ending, version_of(request), table=table, external_id_field=external)
    emu.jobs[job.id] = job
    return json_response(job.info(detailed=False))


@api_endpoint("bulk_upload")
async def upload(request: Request, emu: Emulator) -> Response:
    job = _job(emu, request)
    if job.state != "Open":
        raise _wrong_state(job)
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("text/csv"):
        raise ApiFailure(
            415, ApiError("UNSUPPORTED_MEDIA_TYPE", f"Content type {content_type!r} is not text/csv")
        )
    if job.uploads:
        # One upload per job: larger loads are split into several jobs (as simple-salesforce does).
        raise ApiFailure(
            409, ApiError("INVALIDJOBSTATE", "Job data was already uploaded; create another job")
        )
    data = await request.body()
    if len(data) > MAX_UPLOAD_BYTES:
        raise ApiFailure(400, ApiError("INVALIDBATCH", "The upload exceeds 150 MB"))
    job.uploads.append(data)
    return Response(status_code=201)


@api_endpoint("bulk_close")
async def set_state(request: Request, emu: Emulator) -> Response:
    job = _job(emu, request)
    body = await read_json(request)
    state = body.get("state") if isinstance(body, dict) else None
    if state == "Aborted":
        return _abort(job)
    if state != "UploadComplete":
        raise ApiFailure(400, ApiError("INVALIDJOBSTATE", f"Invalid state: {state}"))
    if job.state != "Open":
        raise _wrong_state(job)
    return _start(emu, job)


@api_endpoint("bulk_poll")
async def get_job(request: Request, emu: Emulator) -> Response:
    return json_response(_job(emu, request).info(detailed=True))


@api_endpoint("bulk_poll")
async def list_jobs(request: Request, emu: Emulator) -> Response:
    records: list[dict[str, Any]] = [j.info(detailed=False) for j in emu.jobs.values() if isinstance(j, Job)]
    return json_response({"done": True, "records": records, "nextRecordsUrl": None})


def _csv(text: str) -> Response:
    return Response(text, media_type="text/csv")


@api_endpoint("bulk_results")
async def successful(request: Request, emu: Emulator) -> Response:
    return _csv(_job(emu, request).successful_csv())


@api_endpoint("bulk_results")
async def failed(request: Request, emu: Emulator) -> Response:
    return _csv(_job(emu, request).failed_csv())


@api_endpoint("bulk_results")
async def unprocessed(request: Request, emu: Emulator) -> Response:
    return _csv(_job(emu, request).unprocessed_csv())


@api_endpoint("bulk_delete")
async def delete_job(request: Request, emu: Emulator) -> Response:
    return _delete(emu, _job(emu, request), deletable=(*TERMINAL, "UploadComplete"))


# -- query jobs --------------------------------------------------------------------------------------
@api_endpoint("bulk_create_job")
async def create_query_job(request: Request, emu: Emulator) -> Response:
    body = await read_json(request)
    if not isinstance(body, dict) or not isinstance(body.get("query"), str):
        raise _invalid_job("A query job needs a 'query'")
    operation = body.get("operation") or "query"
    if operation not in ("query", "queryAll"):
        raise _invalid_job(f"Invalid operation: {operation}")
    delimiter, line_ending = _csv_format(body)
    try:
        compiled = compile_query(emu.store, body["query"])
    except SoqlError as exc:
        raise ApiFailure(400, ApiError(exc.code, exc.message)) from exc
    if compiled.query.count_only or any(item.aggregate for item in compiled.query.select):
        raise ApiFailure(
            400, ApiError("API_ERROR", "FeatureNotEnabled : Aggregate queries are not supported")
        )
    job = QueryJob(operation, delimiter, line_ending, version_of(request), compiled=compiled)
    emu.jobs[job.id] = job
    return _start(emu, job)  # a query job needs no upload


@api_endpoint("bulk_poll")
async def get_query_job(request: Request, emu: Emulator) -> Response:
    return json_response(_query_job(emu, request).info(detailed=True))


@api_endpoint("bulk_close")
async def abort_query_job(request: Request, emu: Emulator) -> Response:
    job = _query_job(emu, request)
    body = await read_json(request)
    if not isinstance(body, dict) or body.get("state") != "Aborted":
        raise ApiFailure(400, ApiError("INVALIDJOBSTATE", "A query job can only be set to Aborted"))
    return _abort(job)


@api_endpoint("bulk_results")
async def query_results(request: Request, emu: Emulator) -> Response:
    job = _query_job(emu, request)
    if job.state != "JobComplete":
        raise ApiFailure(409, ApiError("INVALIDJOBSTATE", f"Job state {job.state}: results are not ready"))
    locator = request.query_params.get("locator") or "0"
    size_text = request.query_params.get("maxRecords") or "50000"
    if not locator.isdigit() or not size_text.isdigit() or int(size_text) < 1:
        raise ApiFailure(
            400, ApiError("INVALID_LOCATOR", f"invalid locator or maxRecords: {locator}, {size_text}")
        )
    text, next_locator, count = job.page(int(locator), int(size_text))
    headers = {"Sforce-Locator": next_locator, "Sforce-NumberOfRecords": str(count)}
    return Response(text, media_type="text/csv", headers=headers)


@api_endpoint("bulk_delete")
async def delete_query_job(request: Request, emu: Emulator) -> Response:
    return _delete(emu, _query_job(emu, request))


QUERY_JOBS = f"{BASE}/jobs/query"
JOBS = f"{BASE}/jobs/ingest"
routes = [
    *resource(QUERY_JOBS, slash=True, POST=create_query_job),
    *resource(f"{QUERY_JOBS}/{{job_id}}", GET=get_query_job, PATCH=abort_query_job, DELETE=delete_query_job),
    *resource(f"{QUERY_JOBS}/{{job_id}}/results", slash=True, GET=query_results),
    *resource(JOBS, slash=True, POST=create_job, GET=list_jobs),
    *resource(f"{JOBS}/{{job_id}}", GET=get_job, PATCH=set_state, DELETE=delete_job),
    *resource(f"{JOBS}/{{job_id}}/batches", slash=True, PUT=upload),
    *resource(f"{JOBS}/{{job_id}}/successfulResults", slash=True, GET=successful),
    *resource(f"{JOBS}/{{job_id}}/failedResults", slash=True, GET=failed),
    *resource(f"{JOBS}/{{job_id}}/unprocessedrecords", slash=True, GET=unprocessed),
]
