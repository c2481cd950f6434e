"""The Composite resource: up to 25 subrequests in one call, later ones referring to earlier results
with ``@{referenceId.path}``; ``allOrNone`` rolls every write back when one subrequest fails.

Subrequests run the same handlers as direct calls, but count as one API call (as in Salesforce).
Of the 25, at most 5 may be queries (Query, QueryAll, their next pages) or sObject Collections
requests; a call with more is refused whole (400 ``LIMIT_EXCEEDED``), as Salesforce does.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match
from starlette.types import Message

from fieldline.adapters.salesforce.emulator.context import (
    BARE_HANDLERS,
    BARE_KINDS,
    ApiFailure,
    Emulator,
    api_endpoint,
    json_response,
    read_json,
)
from fieldline.adapters.salesforce.emulator.routes_sobjects import BASE
from fieldline.adapters.salesforce.emulator.routing import resource
from fieldline.adapters.salesforce.emulator.validation import ApiError

__all__ = ["MAX_HEAVY_SUBREQUESTS", "MAX_SUBREQUESTS", "dispatch", "routes"]

MAX_SUBREQUESTS = 25
MAX_HEAVY_SUBREQUESTS = 5  # queries and sObject Collections among them
_HEAVY = re.compile(r"^/services/data/v[\d.]+/(?:query|queryAll|composite/sobjects)(?:[/?]|$)")
# @{ref.id}, @{ref.records[0].Id}, @{ref[0].id} (a collections result is an array)
_REFERENCE = re.compile(r"@\{([A-Za-z][A-Za-z0-9_]*)((?:\[\d+\]|\.[A-Za-z0-9_]+)+)\}")
_REFERENCE_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
ROLLED_BACK = "The transaction was rolled back since another operation in the same transaction failed."


class _Unresolved(Exception):
    pass


def _lookup(results: dict[str, Any], reference: str, path: str) -> Any:
    if reference not in results or results[reference] is None:
        raise _Unresolved(
            f"Invalid reference specified. No value for {reference}{path} found in {reference}."
        )
    value = results[reference]
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", path):
        try:
            value = value[int(part[1:-1])] if part.startswith("[") else value[part]
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise _Unresolved(
                f"Invalid reference specified. No value for {reference}{path} found in {reference}."
            ) from exc
    return value


def _substitute(value: Any, results: dict[str, Any]) -> Any:
    if isinstance(value, str):
        return _REFERENCE.sub(lambda m: str(_lookup(results, m.group(1), m.group(2))), value)
    if isinstance(value, list):
        return [_substitute(item, results) for item in value]
    if isinstance(value, dict):
        return {key: _substitute(item, results) for key, item in value.items()}
    return value


def _entry(reference: str, status: int, body: Any, headers: dict[str, str] | None = None) -> dict[str, Any]:
    return {"body": body, "httpHeaders": headers or {}, "httpStatusCode": status, "referenceId": reference}


def _halted(reference: str, message: str) -> dict[str, Any]:
    return _entry(reference, 400, [{"errorCode": "PROCESSING_HALTED", "message": message}])


async def dispatch(request: Request, emu: Emulator, method: str, url: str, body: Any) -> tuple[int, Any]:
    """Run one subrequest through the matching route's bare handler: (status, parsed body)."""
    raw_path, _, query = url.partition("?")
    payload = b"" if body is None else json.dumps(body).encode()
    scope: dict[str, Any] = {
        "type": "http",
        "http_version": "1.1",
        "method": method,
        "scheme": request.url.scheme,
        "server": request.scope.get("server"),
        "root_path": "",
        "path": unquote(raw_path),
        "raw_path": raw_path.encode(),
        "query_string": query.encode(),
        "headers": [(b"content-type", b"application/json")],
        "app": request.app,
    }
    for route in request.app.router.routes:
        match, child = route.matches(scope)
        if match is Match.FULL:
            scope.update(child)
            break
    else:
        return 404, [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}]
    endpoint = scope.get("endpoint")
    handler = BARE_HANDLERS.get(endpoint)  # type: ignore[arg-type]
    if handler is None or handler.__name__.startswith("composite") or "/jobs/" in raw_path:
        return 400, [
            {"errorCode": "INVALID_REQUEST", "message": f"{raw_path} is not supported in a composite call"}
        ]

    async def receive() -> Message:
        return {"type": "http.request", "body": payload, "more_body": False}

    sub_request = Request(scope, receive)
    kind = BARE_KINDS[endpoint]  # type: ignore[index]
    emu.stats.by_kind[f"composite:{kind if isinstance(kind, str) else kind(sub_request)}"] += 1
    try:
        response: Response = await handler(sub_request, emu)
    except ApiFailure as failure:
        return failure.status, [e.top_level() for e in failure.errors]
    content = bytes(response.body) if response.body else b""
    return response.status_code, (json.loads(content) if content else None)


@api_endpoint("composite")
async def composite(request: Request, emu: Emulator) -> Response:
    body = await read_json(request)
    subrequests = body.get("compositeRequest") if isinstance(body, dict) else None
    if not isinstance(subrequests, list) or not subrequests:
        raise ApiFailure(
            400, ApiError("JSON_PARSER_ERROR", "The request body needs a compositeRequest array")
        )
    if len(subrequests) > MAX_SUBREQUESTS:
        raise ApiFailure(
            400,
            ApiError(
                "LIMIT_EXCEEDED", f"Limit of {MAX_SUBREQUESTS} subrequests exceeded: {len(subrequests)}"
            ),
        )
    heavy = sum(1 for sub in subrequests if isinstance(sub, dict) and _HEAVY.match(str(sub.get("url", ""))))
    if heavy > MAX_HEAVY_SUBREQUESTS:
        raise ApiFailure(
            400,
            ApiError(
                "LIMIT_EXCEEDED",
                f"Limit of {MAX_HEAVY_SUBREQUESTS} sObject Collections or query subrequests exceeded: "
                f"{heavy}",
            ),
        )
    seen: set[str] = set()
    for sub in subrequests:
        reference = sub.get("referenceId") if isinstance(sub, dict) else None
        if not isinstance(reference, str) or not _REFERENCE_ID.match(reference) or reference in seen:
            raise ApiFailure(
                400, ApiError("INVALID_INPUT", f"Invalid or duplicate referenceId: {reference!r}")
            )
        if sub.get("method") not in ("GET", "POST", "PATCH", "PUT", "DELETE") or not str(
            sub.get("url", "")
        ).startswith("/services/data/v"):
            raise ApiFailure(
                400,
                ApiError("INVALID_INPUT", f"Subrequest {reference} needs a method and a /services/data url"),
            )
        seen.add(reference)
    all_or_none = body.get("allOrNone") is True
    results: dict[str, Any] = {}
    out: list[dict[str, Any]] = []
    with emu.store.transaction() as tx:
        failed = False
        for sub in subrequests:
            reference = sub["referenceId"]
            if all_or_none and failed:
                out.append(_halted(reference, ROLLED_BACK))
                continue
            try:
                url = _substitute(sub["url"], results)
                sub_body = _substitute(sub.get("body"), results)
            except _Unresolved as exc:
                out.append(_halted(reference, str(exc)))
                results[reference] = None
                failed = True
                continue
            status, payload = await dispatch(request, emu, sub["method"], url, sub_body)
            results[reference] = payload if status < 300 else None
            headers = {}
            if status == 201 and isinstance(payload, dict) and payload.get("id"):
                headers["Location"] = f"{url.split('?')[0].rstrip('/')}/{payload['id']}"
            out.append(_entry(reference, status, payload, headers))
            failed = failed or status >= 400
        if all_or_none and failed:
            tx.rollback()
            out = [
                entry if entry["httpStatusCode"] >= 400 else _halted(entry["referenceId"], ROLLED_BACK)
                for entry in out
            ]
    return json_response({"compositeResponse": out})


routes = resource(f"{BASE}/composite", slash=True, POST=composite)
