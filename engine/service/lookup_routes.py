"""``GET /lookup/{lookup}/{value}`` and ``GET /lookup/{lookup}``: the CRM's view of one record.

The value is everything after the lookup's name, percent-decoded (``A%2FB`` is ``A/B``).

Callers need an API key (:mod:`fieldline.lookups.auth`): 401 without a valid one, before the
lookup's name is even checked. Answers come from :class:`~fieldline.lookups.answering.LookupRunner`
(run in the thread pool: a finder blocks on its HTTP call), with ``Retry-After`` on 502/503
and an explicit ``Cache-Control`` on every answer.
"""

from __future__ import annotations

import math

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from fieldline.lookups.answering import LookupAnswer
from fieldline.lookups.auth import CallerAuth
from fieldline.lookups.directory import LookupDirectory

__all__ = ["LookupEndpoints"]

_PREFIX = "/lookup/"


def _response(answer: LookupAnswer) -> Response:
    headers = {
        "Cache-Control": f"private, max-age={math.floor(answer.max_age)}"
        if answer.max_age >= 1
        else "no-store"
    }
    if answer.retry_after is not None:
        headers["Retry-After"] = str(max(1, math.ceil(answer.retry_after)))
    return JSONResponse(dict(answer.body), status_code=answer.status, headers=headers)


class LookupEndpoints:
    """ASGI middleware answering ``GET /lookup/...`` before routing: route patterns cannot
    match a value holding a newline, which must get its 400 rather than a 404."""

    def __init__(self, app: ASGIApp, directory: LookupDirectory, keys: CallerAuth) -> None:
        self.app = app
        self.directory = directory
        self.keys = keys
        self.names = ", ".join(sorted(directory.runners))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not path.startswith(_PREFIX):
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        response = await self.respond(request, path[len(_PREFIX) :])
        await response(scope, receive, send)

    async def respond(self, request: Request, rest: str) -> Response:
        if not self.keys.allows_headers(request.headers):
            return JSONResponse(
                {"error": "a valid API key is required (Authorization: Bearer KEY or X-API-Key: KEY)"},
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer realm="fieldline-lookup"', "Cache-Control": "no-store"},
            )
        if request.method not in ("GET", "HEAD"):
            return JSONResponse({"error": "only GET"}, status_code=405, headers={"Allow": "GET, HEAD"})
        name, slash, value = rest.partition("/")
        runner = self.directory.runners.get(name)
        if runner is None:
            return JSONResponse(
                {"error": f"no lookup {name!r}; this service answers: {self.names or 'none'}"},
                status_code=404,
                headers={"Cache-Control": "no-store"},
            )
        if not slash:
            return _response(await run_in_threadpool(runner.describe))
        return _response(await run_in_threadpool(runner.answer, value))
