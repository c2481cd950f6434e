"""Who may call the admin endpoints, and which ``Host`` names the service answers.

Admin endpoints (``GET /status``, and any later one) show queue contents: event ids, entity
keys and error texts that may quote source values. With an operator token configured
(``FIELDLINE_OPERATOR_TOKEN``, or ``token`` in the config file's ``[operator]`` table) they
need ``Authorization: Bearer <token>``, compared in constant time; without one they answer
loopback clients only. ``/healthz`` stays open and says nothing but ok / not ok.

Every request's ``Host`` must be one of the allowed names (Starlette's
``TrustedHostMiddleware``), so a DNS-rebinding page cannot reach the service through a browser.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from fieldline.config import Secret

__all__ = ["LOOPBACK_HOSTS", "AdminAccess", "HostCheck", "admin_only", "default_allowed_hosts", "is_loopback"]

logger = logging.getLogger("fieldline.service")

LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]")  # an IPv6 Host header is bracketed
_WILDCARD_BINDS = {"0.0.0.0", "::", ""}  # "every interface": never a Host name
_REALM = 'Bearer realm="fieldline"'

Endpoint = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True, slots=True)
class AdminAccess:
    """The operator token (``None``: loopback clients only) and the ``Host`` names answered."""

    token: Secret | None = None
    allowed_hosts: Sequence[str] = LOOPBACK_HOSTS


def default_allowed_hosts(bind_host: str, extra: Sequence[str] = ()) -> list[str]:
    """The loopback names, the host ``serve`` binds (unless it is every interface), then ``extra``."""
    names = [*LOOPBACK_HOSTS]
    if bind_host.strip("[]") not in _WILDCARD_BINDS:
        names.append(bind_host)
    names.extend(extra)
    return list(dict.fromkeys(_as_host_header(name) for name in names))


def _as_host_header(name: str) -> str:
    """``name`` as it appears in a ``Host`` header: lower case, an IPv6 address in brackets."""
    name = name.strip().lower()
    return f"[{name}]" if ":" in name and not name.startswith("[") else name


def is_loopback(request: Request) -> bool:
    """Whether the request comes from this machine (the rule without an operator token)."""
    if request.client is None:
        return False
    try:
        return ipaddress.ip_address(request.client.host).is_loopback
    except ValueError:
        return False


def _refuse(request: Request, status: int, error: str, reason: str) -> Response:
    client = request.client.host if request.client else "unknown client"
    logger.warning(
        "%s %r from %s: refused (%d): %s", request.method, request.url.path, client, status, reason
    )
    headers = {"WWW-Authenticate": _REALM} if status == 401 else None
    return JSONResponse({"error": error}, status_code=status, headers=headers)


def admin_only(endpoint: Endpoint, access: AdminAccess) -> Endpoint:
    """``endpoint`` behind the operator token (or, without one, loopback clients only)."""

    async def guarded(request: Request) -> Response:
        if access.token is None:
            if is_loopback(request):
                return await endpoint(request)
            return _refuse(
                request, 403, "this endpoint answers loopback clients only", "no operator token configured"
            )
        given = request.headers.getlist("authorization")
        if len(given) != 1:
            reason = "no Authorization header" if not given else "several Authorization headers"
            return _refuse(request, 401, "operator token required", reason)
        scheme, _, credential = given[0].partition(" ")
        expected = access.token.reveal().encode()
        if scheme.lower() != "bearer" or not hmac.compare_digest(credential.strip().encode(), expected):
            return _refuse(request, 401, "operator token required", "wrong operator token")
        return await endpoint(request)

    return guarded


class HostCheck:
    """``TrustedHostMiddleware`` that also logs each refused ``Host`` (one line, no traceback).

    A ``Host`` value it has let through once is let through again at once (the decision depends
    on that value alone): parsing and matching it on every request cost four times the rest of
    this middleware. At most ``_PASSED_HOSTS`` values are kept (a ``*.example.com`` pattern
    passes endless names).
    """

    _PASSED_HOSTS = 64

    def __init__(self, app: ASGIApp, allowed_hosts: Sequence[str]) -> None:
        self._app = app
        self._passed_hosts: set[bytes] = set()
        self._check = TrustedHostMiddleware(
            self._passed(app), allowed_hosts=allowed_hosts, www_redirect=False
        )

    def _passed(self, app: ASGIApp) -> ASGIApp:
        async def mark(scope: Scope, receive: Receive, send: Send) -> None:
            scope["fieldline.host_ok"] = True
            host = _first_host(scope)
            if host is not None and len(self._passed_hosts) < self._PASSED_HOSTS:
                self._passed_hosts.add(host)
            await app(scope, receive, send)

        return mark

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _first_host(scope) in self._passed_hosts:
            await self._app(scope, receive, send)
            return
        await self._check(scope, receive, send)
        if scope["type"] == "http" and not scope.get("fieldline.host_ok"):
            host = dict(scope.get("headers") or []).get(b"host", b"").decode("latin-1")
            logger.warning(
                "%s %r: refused (400): Host %r is not allowed", scope["method"], scope["path"], host[:80]
            )


def _first_host(scope: Scope) -> bytes | None:
    """The raw value of the first ``Host`` header (the one Starlette's check reads)."""
    for name, value in scope.get("headers") or ():
        if name == b"host":
            return bytes(value)
    return None
