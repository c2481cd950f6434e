"""Bulk API 2.0 ingest endpoints: create, upload (CSV), close/abort, poll, results, delete."""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fieldline.adapters.salesforce.emulator.bulk import (
    DELIMITERS,
    OPERATIONS,
    TERMINAL,
    Job,
    new_job_id,
    process_job,
)
from fieldline.adapters.salesforce.emulator.bulk_query import QueryJob, new_query_job_id, run_query_job
from fieldline.adapters.salesforce.emulator.context import (
    ApiFailure,
    Emulator,
    api_endpoint,
    json_response,
    read_json,
)
from fieldline.adapters.salesforce.emulator.routes_sobjects import BASE, version_of
from fieldline.adapters.salesforce.emulator.soql import SoqlError, compile_query
from fieldline.adapters.salesforce.emulator.validation import ApiError

__all__ = ["routes"]

MAX_UPLOAD_BYTES = 150 * 1024 * 1024


def _invalid_job(message: str) -> ApiFailure:
    return ApiFailure(400, ApiError("INVALIDJOB", message))


def _job(emu: Emulator, request: Request) -> Job:
    job = emu.jobs.get(request.path_params["job_id"])
    if not isinstance(job, Job):
        raise ApiFailure(404, ApiError("NOT_FOUND", "The requested resource does not exist"))
    return job


def _wrong_state(job: Job | QueryJob) -> ApiFailure:
    return ApiFailure(
        409, ApiError("INVALIDJOBSTATE", f"Job state {job.state} does not allow this operation")
    )


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
    delimiter = body.get("columnDelimiter") or "COMMA"
    if delimiter not in DELIMITERS:
        raise _invalid_job(f"Invalid column delimiter: {delimiter}")
    line_ending = body.get("lineEnding") or "LF"
    if line_ending not in ("LF", "CRLF"):
        raise _invalid_job(f"Invalid line ending: {line_ending}")
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
    job = Job(new_job_id(), table, operation, external, delimiter, line_ending, version_of(request))
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
    if state == "UploadComplete":
        if job.state != "Open":
            raise _wrong_state(job)
        job.set_state("UploadComplete")
        task = asyncio.get_running_loop().create_task(process_job(emu, job))
        emu.tasks.add(task)
        task.add_done_callback(emu.tasks.discard)
    elif state == "Aborted":
        if job.state in TERMINAL:
            raise _wrong_state(job)
        job.set_state("Aborted")
    else:
        raise ApiFailure(400, ApiError("INVALIDJOBSTATE", f"Invalid state: {state}"))
    return json_response(job.info(detailed=False))


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
    job = _job(emu, request)
    if job.state not in (*TERMINAL, "UploadComplete"):
        raise _wrong_state(job)
    del emu.jobs[job.id]
    return Response(status_code=204)


# -- query jobs --------------------------------------------------------------------------------------
def _query_job(emu: Emulator, request: Request) -> QueryJob:
    job = emu.jobs.get(request.path_params["job_id"])
    if not isinstance(job, QueryJob):
        raise ApiFailure(404, ApiError("NOT_FOUND", "The requested resource does not exist"))
    return job


@api_endpoint("bulk_create_job")
async def create_query_job(request: Request, emu: Emulator) -> Response:
    body = await read_json(request)
    if not isinstance(body, dict) or not isinstance(body.get("query"), str):
        raise _invalid_job("A query job needs a 'query'")
    operation = body.get("operation") or "query"
    if operation not in ("query", "queryAll"):
        raise _invalid_job(f"Invalid operation: {operation}")
    delimiter = body.get("columnDelimiter") or "COMMA"
    line_ending = body.get("lineEnding") or "LF"
    if delimiter not in DELIMITERS or line_ending not in ("LF", "CRLF"):
        raise _invalid_job("Invalid columnDelimiter or lineEnding")
    try:
        compiled = compile_query(emu.store, body["query"])
    except SoqlError as exc:
        raise ApiFailure(400, ApiError(exc.code, exc.message)) from exc
    if compiled.query.count_only or any(item.aggregate for item in compiled.query.select):
        raise ApiFailure(
            400, ApiError("API_ERROR", "FeatureNotEnabled : Aggregate queries are not supported")
        )
    job = QueryJob(new_query_job_id(), compiled, operation, delimiter, line_ending, version_of(request))
    emu.jobs[job.id] = job
    task = asyncio.get_running_loop().create_task(run_query_job(emu, job))
    emu.tasks.add(task)
    task.add_done_callback(emu.tasks.discard)
    return json_response(job.info(detailed=False))


@api_endpoint("bulk_poll")
async def get_query_job(request: Request, emu: Emulator) -> Response:
    return json_response(_query_job(emu, request).info(detailed=True))


@api_endpoint("bulk_close")
async def abort_query_job(request: Request, emu: Emulator) -> Response:
    job = _query_job(emu, request)
    body = await read_json(request)
    if not isinstance(body, dict) or body.get("state") != "Aborted":
        raise ApiFailure(400, ApiError("INVALIDJOBSTATE", "A query job can only be set to Aborted"))
    if job.state in TERMINAL:
        raise ApiFailure(
            409, ApiError("INVALIDJOBSTATE", f"Job state {job.state} does not allow this operation")
        )
    job.set_state("Aborted")
    return json_response(job.info(detailed=False))


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
    job = _query_job(emu, request)
    if job.state not in TERMINAL:
        raise ApiFailure(
            409, ApiError("INVALIDJOBSTATE", f"Job state {job.state} does not allow this operation")
        )
    del emu.jobs[job.id]
    return Response(status_code=204)


QUERY_JOBS = f"{BASE}/jobs/query"
JOBS = f"{BASE}/jobs/ingest"
routes = [
    Route(QUERY_JOBS, create_query_job, methods=["POST"]),
    Route(f"{QUERY_JOBS}/", create_query_job, methods=["POST"]),
    Route(f"{QUERY_JOBS}/{{job_id}}", get_query_job, methods=["GET"]),
    Route(f"{QUERY_JOBS}/{{job_id}}", abort_query_job, methods=["PATCH"]),
    Route(f"{QUERY_JOBS}/{{job_id}}", delete_query_job, methods=["DELETE"]),
    Route(f"{QUERY_JOBS}/{{job_id}}/results", query_results, methods=["GET"]),
    Route(f"{QUERY_JOBS}/{{job_id}}/results/", query_results, methods=["GET"]),
    Route(JOBS, create_job, methods=["POST"]),
    Route(f"{JOBS}/", create_job, methods=["POST"]),
    Route(JOBS, list_jobs, methods=["GET"]),
    Route(f"{JOBS}/", list_jobs, methods=["GET"]),
    Route(f"{JOBS}/{{job_id}}", get_job, methods=["GET"]),
    Route(f"{JOBS}/{{job_id}}", set_state, methods=["PATCH"]),
    Route(f"{JOBS}/{{job_id}}", delete_job, methods=["DELETE"]),
    Route(f"{JOBS}/{{job_id}}/batches", upload, methods=["PUT"]),
    Route(f"{JOBS}/{{job_id}}/batches/", upload, methods=["PUT"]),
    Route(f"{JOBS}/{{job_id}}/successfulResults", successful, methods=["GET"]),
    Route(f"{JOBS}/{{job_id}}/successfulResults/", successful, methods=["GET"]),
    Route(f"{JOBS}/{{job_id}}/failedResults", failed, methods=["GET"]),
    Route(f"{JOBS}/{{job_id}}/failedResults/", failed, methods=["GET"]),
    Route(f"{JOBS}/{{job_id}}/unprocessedrecords", unprocessed, methods=["GET"]),
    Route(f"{JOBS}/{{job_id}}/unprocessedrecords/", unprocessed, methods=["GET"]),
]
