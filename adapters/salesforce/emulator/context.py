"""The emulator's live state and the wrapper every Salesforce API endpoint goes through.

:func:`api_endpoint` does, in Salesforce's order: injected 503s, the session check (401), the daily
limit (403), api-usage counting, injected latency; then runs the handler and adds
``Sforce-Limit-Info``. Handlers raise :class:`ApiFailure` for top-level error answers.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.responses import Response

from fieldline.adapters.salesforce.emulator.auth import Sessions
from fieldline.adapters.salesforce.emulator.org import Org
from fieldline.adapters.salesforce.emulator.routing import Endpoint
from fieldline.adapters.salesforce.emulator.state import EmulatorSettings, Faults, Stats
from fieldline.adapters.salesforce.emulator.store import Store
from fieldline.adapters.salesforce.emulator.validation import ApiError

__all__ = ["ApiFailure", "Emulator", "api_endpoint", "json_response", "not_found", "read_json"]

AnyJob = TypeVar("AnyJob")
_VERSION = re.compile(r"^v(\d+)\.(\d+)$")
_log = logging.getLogger(__name__)


class ApiFailure(Exception):
    """A top-level error answer: ``status`` and a list of :class:`ApiError`."""

    def __init__(self, status: int, *errors: ApiError, headers: dict[str, str] | None = None) -> None:
        super().__init__(errors[0].message if errors else str(status))
        self.status = status
        self.errors = errors
        self.headers = headers or {}


def not_found(message: str = "The requested resource does not exist") -> ApiFailure:
    return ApiFailure(404, ApiError("NOT_FOUND", message))


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON response without Starlette's extra validation (bodies here are always plain JSON)."""
    return Response(
        # allow_nan=False: NaN/Infinity are not JSON; serving them would break every client parser
        json.dumps(body, separators=(",", ":"), ensure_ascii=False, allow_nan=False),
        status_code=status,
        headers=headers,
        media_type="application/json;charset=UTF-8",
    )


def _no_constant(token: str) -> Any:
    raise ValueError(f"{token} is not valid JSON")


async def read_json(request: Request) -> Any:
    """The request's JSON body, or a 400 ``JSON_PARSER_ERROR``."""
    raw = await request.body()
    try:
        return json.loads(raw, parse_constant=_no_constant) if raw else None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiFailure(
            400, ApiError("JSON_PARSER_ERROR", f"Unexpected character in request body: {exc}")
        ) from exc
    except RecursionError as exc:
        raise ApiFailure(400, ApiError("JSON_PARSER_ERROR", "The request body is nested too deeply")) from exc


@dataclass(slots=True)
class Emulator:
    """Everything one emulator instance knows: org, records, sessions, faults, counters."""

    org: Org
    store: Store
    settings: EmulatorSettings
    sessions: Sessions
    faults: Faults
    stats: Stats = field(default_factory=Stats)
    cursors: dict[str, Any] = field(default_factory=dict)
    jobs: dict[str, Any] = field(default_factory=dict)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    base_url: str = ""

    def limit_header(self) -> dict[str, str]:
        return {"Sforce-Limit-Info": f"api-usage={self.stats.api_usage}/{self.faults.daily_limit}"}

    def job(self, job_id: str, kind: type[AnyJob]) -> AnyJob:
        """The Bulk job ``job_id`` when it is a ``kind`` job (an ingest id is unknown to query routes)."""
        job = self.jobs.get(job_id)
        if not isinstance(job, kind):
            raise not_found()
        return job

    def in_background(self, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work`` as a task of the app (cancelled, if still running, when the app stops)."""
        task = asyncio.get_running_loop().create_task(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def count(self, kind: str) -> None:
        self.stats.total += 1
        self.stats.by_kind[kind] += 1

    def write_fault(self, record_id: str | None = None) -> ApiError | None:
        """An injected error for one write (lock or generic), or ``None``."""
        faults = self.faults
        if faults.lock_error_rate and faults.rng.random() < faults.lock_error_rate:
            which = f"1 records: {record_id}" if record_id else "1 records: "
            return ApiError(
                "UNABLE_TO_LOCK_ROW", f"unable to obtain exclusive access to this record or {which}"
            )
        if faults.write_error_rate and faults.rng.random() < faults.write_error_rate:
            return ApiError(
                "UNKNOWN_EXCEPTION",
                "An unexpected error occurred. Please include this ErrorId if you contact support: "
                f"{faults.rng.randrange(10**9, 10**10)}-{faults.rng.randrange(10**4, 10**5)} (emulated)",
            )
        return None


def api_version(request: Request) -> tuple[int, int]:
    """The ``vXX.X`` of the request path as numbers; 404 for an unknown version."""
    match = _VERSION.match(request.path_params.get("version", ""))
    if match is None or not 20 <= int(match.group(1)) <= 62:
        raise not_found()
    return int(match.group(1)), int(match.group(2))


Handler = Callable[[Request, Emulator], Awaitable[Response]]

# Each wrapped endpoint's bare handler, so the composite resource can run subrequests without
# counting, authenticating or faulting them again; and its stats kind (``composite:<kind>``
# counts subrequests, which are no API calls of their own).
BARE_HANDLERS: dict[Endpoint, Handler] = {}
BARE_KINDS: dict[Endpoint, str | Callable[[Request], str]] = {}


def _error_body(errors: Sequence[ApiError]) -> list[dict[str, Any]]:
    return [e.top_level() for e in errors]


def api_endpoint(
    kind: str | Callable[[Request], str],
) -> Callable[[Handler], Callable[[Request], Awaitable[Response]]]:
    """Wrap a handler with Salesforce's request pipeline; ``kind`` names it in the stats."""

    def wrap(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            emu: Emulator = request.app.state.emulator
            emu.count(kind if isinstance(kind, str) else kind(request))
            faults = emu.faults
            if faults.unavailable_next > 0:
                faults.unavailable_next -= 1
                headers = {"Retry-After": str(faults.retry_after), **emu.limit_header()}
                body = [
                    {
                        "message": "Server temporarily unavailable, retry later",
                        "errorCode": "SERVER_UNAVAILABLE",
                    }
                ]
                return json_response(body, 503, headers)
            token = emu.sessions.token_from_header(request.headers.get("authorization"))
            if token is None or not emu.sessions.is_valid(token):
                body = [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
                return json_response(body, 401, emu.limit_header())
            if emu.stats.api_usage >= faults.daily_limit:
                body = [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]
                return json_response(body, 403, emu.limit_header())
            target_length = len(request.scope.get("raw_path", b"")) + len(
                request.scope.get("query_string", b"")
            )
            if target_length > emu.settings.max_uri_length:
                message = f"The request URI is longer than {emu.settings.max_uri_length} characters"
                return json_response(
                    [{"message": message, "errorCode": "URI_TOO_LONG"}], 414, emu.limit_header()
                )
            emu.stats.api_usage += 1
            if faults.latency_ms:
                await asyncio.sleep(faults.latency_ms / 1000)
            try:
                if "version" in request.path_params:
                    api_version(request)
                response = await handler(request, emu)
            except ApiFailure as failure:
                response = json_response(_error_body(failure.errors), failure.status, failure.headers)
            except Exception:  # a bug answers like Salesforce's internal errors, not with plain text
                error_id = f"{uuid.uuid4().int % 10**10:010d}"
                _log.error(
                    "%s %s failed (ErrorId %s)", request.method, request.url.path, error_id, exc_info=True
                )
                message = (
                    "An unexpected error occurred. Please include this ErrorId if you contact support: "
                    f"{error_id} (emulated)"
                )
                response = json_response([{"errorCode": "UNKNOWN_EXCEPTION", "message": message}], 500)
            response.headers.update(emu.limit_header())
            return response

        endpoint.__name__ = handler.__name__
        endpoint.__doc__ = handler.__doc__
        BARE_HANDLERS[endpoint] = handler
        BARE_KINDS[endpoint] = kind
        return endpoint

    return wrap
