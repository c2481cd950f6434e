"""``GET /lookup/{lookup}/{value}`` and ``GET /lookup/{lookup}``: the CRM's view of one record.

Callers need an API key (:mod:`fieldline.lookups.auth`): 401 without a valid one, before the
lookup's name is even checked. Answers come from :class:`~fieldline.lookups.runner.LookupRunner`
(run in the thread pool: a finder blocks on its HTTP call), with ``Retry-After`` on 502/503
and an explicit ``Cache-Control`` on every answer.
"""

from __future__ import annotations

import math

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from fieldline.lookups.auth import ApiKeys
from fieldline.lookups.directory import LookupDirectory
from fieldline.lookups.runner import LookupAnswer

__all__ = ["lookup_routes"]


def _response(answer: LookupAnswer) -> Response:
    headers = {
        "Cache-Control": f"private, max-age={math.floor(answer.max_age)}"
        if answer.max_age >= 1
        else "no-store"
    }
    if answer.retry_after is not None:
        headers["Retry-After"] = str(max(1, math.ceil(answer.retry_after)))
    return JSONResponse(dict(answer.body), status_code=answer.status, headers=headers)


def lookup_routes(directory: LookupDirectory, keys: ApiKeys) -> list[Route]:
    """The two lookup routes for ``directory``, guarded by ``keys``."""
    names = ", ".join(sorted(directory.runners))

    def refused(request: Request) -> Response | None:
        if keys.allows_headers(request.headers):
            return None
        return JSONResponse(
            {"error": "a valid API key is required (Authorization: Bearer KEY or X-API-Key: KEY)"},
            status_code=401,
            headers={"WWW-Authenticate": 'Bearer realm="fieldline-lookup"', "Cache-Control": "no-store"},
        )

    def unknown(name: str) -> Response:
        return JSONResponse(
            {"error": f"no lookup {name!r}; this service answers: {names or 'none'}"},
            status_code=404,
            headers={"Cache-Control": "no-store"},
        )

    async def lookup_value(request: Request) -> Response:
        denied = refused(request)
        if denied is not None:
            return denied
        runner = directory.runners.get(request.path_params["lookup"])
        if runner is None:
            return unknown(request.path_params["lookup"])
        return _response(await run_in_threadpool(runner.answer, request.path_params["value"]))

    async def describe(request: Request) -> Response:
        denied = refused(request)
        if denied is not None:
            return denied
        runner = directory.runners.get(request.path_params["lookup"])
        if runner is None:
            return unknown(request.path_params["lookup"])
        return _response(await run_in_threadpool(runner.describe))

    return [
        Route("/lookup/{lookup}", describe, methods=["GET"]),
        Route("/lookup/{lookup}/{value:path}", lookup_value, methods=["GET"]),
    ]
