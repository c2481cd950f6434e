"""The OAuth token endpoint and the emulator's own control endpoints under ``/_emulator``.

Neither counts toward api-usage. Control endpoints are not part of Salesforce: they exist for tests,
benchmarks and ``make demo`` (stats, faults, a dump of all records).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from fieldline.adapters.salesforce.emulator.auth import OAuthError, basic_credentials as _basic_credentials
from fieldline.adapters.salesforce.emulator.context import Emulator, json_response
from fieldline.adapters.salesforce.emulator.routing import resource
from fieldline.errors import ConfigError

__all__ = ["apply_faults", "routes", "stats_body"]


def _emulator(request: Request) -> Emulator:
    emu: Emulator = request.app.state.emulator
    return emu


def base_url(request: Request) -> str:
    """The emulator's own URL as the client reached it (``http://127.0.0.1:PORT``)."""
    return str(request.base_url).rstrip("/")


async def _oauth_form(request: Request) -> tuple[Emulator, dict[str, str]]:
    """The emulator, having counted an OAuth call, and the request's form fields."""
    emu = _emulator(request)
    emu.count("oauth")
    form = await request.form()
    values = {key: str(value) for key, value in form.items()}
    await form.close()
    return emu, values


async def token(request: Request) -> Response:
    """``POST /services/oauth2/token`` (form-urlencoded)."""
    emu, values = await _oauth_form(request)
    try:
        body = emu.sessions.grant(values, request.headers.get("authorization"), base_url(request))
    except OAuthError as exc:
        return json_response({"error": exc.error, "error_description": exc.description}, exc.status)
    return json_response(body)


async def introspect(request: Request) -> Response:
    """``POST /services/oauth2/introspect``: whether a token is active (client credentials required)."""
    emu, values = await _oauth_form(request)
    creds = emu.sessions.credentials
    client_id = values.get("client_id")
    if client_id is None:
        client_id, _ = _basic_credentials(request.headers.get("authorization"))
    if client_id != creds.consumer_key:
        return json_response(
            {"error": "invalid_client_id", "error_description": "client identifier invalid"}, 400
        )
    token_value = values.get("token", "")
    active = emu.sessions.is_valid(token_value) or emu.sessions.is_refresh_token(token_value)
    body: dict[str, Any] = {"active": active}
    if active:
        body.update(
            {"client_id": creds.consumer_key, "username": creds.username, "token_type": "access_token"}
        )
    return json_response(body)


async def revoke(request: Request) -> Response:
    """``POST /services/oauth2/revoke``: end a session (access token) or a refresh token."""
    emu, values = await _oauth_form(request)
    token_value = values.get("token") or request.query_params.get("token") or ""
    if not emu.sessions.revoke(token_value):
        return json_response(
            {"error": "unsupported_token_type", "error_description": "this token type is not supported"}, 400
        )
    return Response(status_code=200)


def stats_body(emu: Emulator) -> dict[str, Any]:
    """The ``GET /_emulator/stats`` document."""
    return {
        "total": emu.stats.total,
        "api_usage": emu.stats.api_usage,
        "by_kind": dict(emu.stats.by_kind),
        "writes": emu.store.writes,
        "records": emu.store.counts(),
        "faults": emu.faults.as_dict(),
    }


def apply_faults(emu: Emulator, values: dict[str, Any]) -> None:
    """Set faults (see :data:`~fieldline.adapters.salesforce.emulator.state.FAULT_NAMES`)."""
    values = dict(values)
    expire = bool(values.pop("expire_sessions", False))
    emu.faults.update(values)
    if expire:
        emu.sessions.expire_all()


async def stats(request: Request) -> Response:
    return json_response(stats_body(_emulator(request)))


async def reset_stats(request: Request) -> Response:
    emu = _emulator(request)
    emu.stats.reset()
    emu.store.writes = 0
    return json_response(stats_body(emu))


async def faults(request: Request) -> Response:
    emu = _emulator(request)
    if request.method == "GET":
        return json_response(emu.faults.as_dict())
    try:
        body = await request.json()
    except ValueError:
        return json_response({"error": "the body must be a JSON object of faults"}, 400)
    if not isinstance(body, dict):
        return json_response({"error": "the body must be a JSON object of faults"}, 400)
    try:
        apply_faults(emu, body)
    except (ConfigError, TypeError, ValueError) as exc:
        return json_response({"error": str(exc)}, 400)
    return json_response(emu.faults.as_dict())


async def records(request: Request) -> Response:
    emu = _emulator(request)
    table = emu.store.table(request.path_params["obj"])
    if table is None:
        return json_response({"error": f"unknown object {request.path_params['obj']!r}"}, 404)
    return json_response(list(table.rows.values()))


async def healthz(request: Request) -> Response:
    return json_response({"ok": True})


routes = [
    *resource("/services/oauth2/token", POST=token),
    *resource("/services/oauth2/introspect", POST=introspect),
    *resource("/services/oauth2/revoke", POST=revoke),
    *resource("/_emulator/stats", GET=stats),
    *resource("/_emulator/stats/reset", POST=reset_stats),
    *resource("/_emulator/faults", GET=faults, POST=faults),
    *resource("/_emulator/records/{obj}", GET=records),
    *resource("/_emulator/healthz", GET=healthz),
]
