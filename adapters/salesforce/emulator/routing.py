"""How the emulator's routes are declared: per path, one handler per HTTP method.

Salesforce matches the literal segments of REST paths in any letter case (simple-salesforce asks
for ``…/unprocessedRecords``, the documentation spells it ``unprocessedrecords``), so every route
matches case-insensitively; path parameters keep the case the client sent.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

__all__ = ["Endpoint", "resource"]

Endpoint = Callable[[Request], Awaitable[Response]]


def _route(path: str, endpoint: Endpoint, method: str) -> Route:
    route = Route(path, endpoint, methods=[method])
    route.path_regex = re.compile(route.path_regex.pattern, re.IGNORECASE)
    return route


def resource(path: str, *, slash: bool = False, **endpoints: Endpoint) -> list[Route]:
    """The routes of ``path``, one per HTTP method (``GET=handler``); ``slash``: ``path/`` too."""
    paths = (path, f"{path}/") if slash else (path,)
    return [_route(at, endpoint, method) for at in paths for method, endpoint in endpoints.items()]
