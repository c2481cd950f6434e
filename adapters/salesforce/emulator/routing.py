"""How the emulator's routes are declared: per path, one handler per HTTP method."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

__all__ = ["Endpoint", "resource"]

Endpoint = Callable[[Request], Awaitable[Response]]


def resource(path: str, *, slash: bool = False, **endpoints: Endpoint) -> list[Route]:
    """The routes of ``path``, one per HTTP method (``GET=handler``); ``slash``: ``path/`` too."""
    paths = (path, f"{path}/") if slash else (path,)
    return [Route(at, endpoint, methods=[method]) for at in paths for method, endpoint in endpoints.items()]
