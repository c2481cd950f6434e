"""The console on its own (``fieldline console``): beside a receiver-only deployment, over
the same storage, with the same ``Host`` check and operator token as ``serve``."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route

from fieldline.console.data import ConsoleData
from fieldline.console.pages import create_console
from fieldline.console.sessions import SessionBook
from fieldline.service.admin_auth import AdminAccess, HostCheck

__all__ = ["console_app"]


def console_app(data: ConsoleData, access: AdminAccess) -> Starlette:
    """``/ui`` (the console) and ``/`` redirecting to it."""

    async def home(request: Request) -> Response:
        return RedirectResponse("/ui/", status_code=303)

    return Starlette(
        routes=[
            Route("/", home, methods=["GET"]),
            Mount("/ui", app=create_console(data, SessionBook(token=access.token))),
        ],
        middleware=[Middleware(HostCheck, allowed_hosts=access.allowed_hosts)],
    )
