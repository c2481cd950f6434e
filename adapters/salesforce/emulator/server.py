"""Build the emulator app, and run it on a free loopback port for tests, demos and benchmarks::

with running_emulator("mappings/passfort-salesforce.org.yaml") as sf:
    httpx.get(f"{sf.url}/services/data/v59.0/sobjects",
              headers={"Authorization": f"Bearer {sf.token}"})
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import ExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response

from fieldline.adapters.salesforce.emulator import (
    identity,
    routes_bulk,
    routes_collections,
    routes_composite,
    routes_composite_more,
    routes_control,
    routes_query,
    routes_search,
    routes_soap,
    routes_sobjects,
)
from fieldline.adapters.salesforce.emulator.auth import Sessions
from fieldline.adapters.salesforce.emulator.context import Emulator, json_response
from fieldline.adapters.salesforce.emulator.org import Org, load_org
from fieldline.adapters.salesforce.emulator.state import EmulatorSettings, Faults
from fieldline.adapters.salesforce.emulator.store import Store

__all__ = [
    "EmulatorHandle",
    "EmulatorSettings",
    "create_app",
    "org_connection",
    "running_emulator",
    "running_orgs",
]


def _faults_from(settings: EmulatorSettings) -> Faults:
    """The faults in force at start: each one as the setting of the same name says."""
    starting = {f.name: getattr(settings, f.name) for f in fields(Faults) if f.name != "rng"}
    return Faults(**starting, rng=random.Random(settings.seed))


async def _not_found(request: Request, exc: Exception) -> Response:
    body = [{"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}]
    return json_response(body, 404, _limit_header_for(request))


def _limit_header_for(request: Request) -> dict[str, str] | None:
    """``Sforce-Limit-Info`` for API paths (not the versions root, OAuth or control endpoints)."""
    emu: Emulator = request.app.state.emulator
    return emu.limit_header() if request.url.path.startswith("/services/data/v") else None


async def _method_not_allowed(request: Request, exc: Exception) -> Response:
    body = [{"message": f"HTTP Method '{request.method}' not allowed.", "errorCode": "METHOD_NOT_ALLOWED"}]
    return json_response(body, 405, _limit_header_for(request))


def create_app(
    org: Org | None = None,
    *,
    state_path: str | None = None,
    settings: EmulatorSettings | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> Starlette:
    """A Starlette app emulating one Salesforce org (``org`` defaults to the standard objects).

    Records live in memory, or in the SQLite file ``state_path`` (kept across restarts).
    ``clock`` (seconds) ages sessions (``session_seconds``); tests pass one they move by hand.
    ``app.state.emulator`` is the live :class:`~fieldline.adapters.salesforce.emulator.context.Emulator`.
    """
    org = org if org is not None else load_org(None)
    settings = settings or EmulatorSettings()
    store = Store(org, state_path)
    identity.seed_identity(store, settings.org_id, settings.user_id, settings.username)
    emu = Emulator(
        org=org,
        store=store,
        settings=settings,
        sessions=Sessions(settings, clock=clock),
        faults=_faults_from(settings),
    )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            for task in list(emu.tasks):
                task.cancel()
            if emu.tasks:
                await asyncio.gather(*emu.tasks, return_exceptions=True)
            store.close()

    app = Starlette(
        routes=[
            *routes_control.routes,
            *identity.routes,
            *routes_soap.routes,
            *routes_query.routes,
            *routes_search.routes,
            *routes_sobjects.routes,
            *routes_collections.routes,
            *routes_composite_more.routes,
            *routes_composite.routes,
            *routes_bulk.routes,
        ],
        exception_handlers={404: _not_found, 405: _method_not_allowed},
        lifespan=lifespan,
    )
    app.router.redirect_slashes = False
    app.state.emulator = emu
    return app


@dataclass(frozen=True, slots=True)
class EmulatorHandle:
    """A running emulator: its URL, live state, and the built-in user's credentials."""

    url: str
    emulator: Emulator
    token: str

    @property
    def store(self) -> Store:
        """The in-memory store (``.org`` holds the metadata, ``.tables`` the records) for inspection."""
        return self.emulator.store

    org = store  # the older name

    def stats(self) -> dict[str, Any]:
        """The same document as ``GET /_emulator/stats``."""
        return routes_control.stats_body(self.emulator)

    def set_faults(self, **faults: Any) -> None:
        """Change faults now (names as for ``POST /_emulator/faults``)."""
        routes_control.apply_faults(self.emulator, faults)

    def reset_stats(self) -> None:
        self.emulator.stats.reset()
        self.emulator.store.writes = 0

    def records(self, object_name: str) -> list[dict[str, Any]]:
        """All live records of ``object_name`` (copies)."""
        table = self.emulator.store.table(object_name)
        if table is None:
            return []
        # list() copies in one step under the GIL, so a write on the server thread cannot interleave.
        return [dict(r) for r in list(table.rows.values())]

    def new_token(self) -> str:
        """Another valid access token (e.g. after ``set_faults(expire_sessions=True)``)."""
        return self.emulator.sessions.issue()

    @property
    def username(self) -> str:
        return self.emulator.sessions.credentials.username

    @property
    def password(self) -> str:
        return self.emulator.sessions.credentials.password

    @property
    def security_token(self) -> str:
        return self.emulator.sessions.credentials.security_token

    @property
    def consumer_key(self) -> str:
        return self.emulator.sessions.credentials.consumer_key

    @property
    def client_id(self) -> str:
        return self.emulator.sessions.credentials.consumer_key

    @property
    def client_secret(self) -> str:
        return self.emulator.sessions.credentials.client_secret

    @property
    def refresh_token(self) -> str:
        return self.emulator.sessions.credentials.refresh_token

    @property
    def jwt_private_key_pem(self) -> str | None:
        """The generated key's private half (``None`` when a public key was configured)."""
        return self.emulator.sessions.credentials.jwt_private_key_pem


@contextmanager
def running_emulator(
    org_file: str | Path | None = None,
    *,
    state_path: str | Path | None = None,
    clock: Callable[[], float] = time.monotonic,
    **settings: Any,
) -> Iterator[EmulatorHandle]:
    """Serve an emulator on ``127.0.0.1`` (free port) until the block ends.

    ``settings`` are :class:`EmulatorSettings` fields (faults such as ``lock_error_rate`` included);
    ``clock`` is as for :func:`create_app`.
    """
    from fieldline.testing.server import serve_in_thread

    app = create_app(
        load_org(org_file),
        state_path=None if state_path is None else str(state_path),
        settings=EmulatorSettings.from_kwargs(**settings),
        clock=clock,
    )
    emu: Emulator = app.state.emulator
    with serve_in_thread(app) as url:
        emu.base_url = url
        yield EmulatorHandle(url=url, emulator=emu, token=emu.sessions.issue())


@contextmanager
def running_orgs(
    names: Sequence[str], org_file: str | Path | None = None, **settings: Any
) -> Iterator[dict[str, EmulatorHandle]]:
    """Several independent orgs (one per tenant), each an emulator on its own free port, with
    its own records, credentials, limits and faults: ``{name: handle}`` until the block ends."""
    with ExitStack() as stack:
        yield {name: stack.enter_context(running_emulator(org_file, **settings)) for name in names}


def org_connection(handle: EmulatorHandle, env_prefix: str) -> tuple[dict[str, Any], dict[str, str]]:
    """A connections-file entry that logs in to ``handle`` with the password flow, and the
    environment it needs: the secrets are references to ``<env_prefix>_PASSWORD``,
    ``_SECURITY_TOKEN`` and ``_CLIENT_SECRET``, never inline."""
    names = {key: f"{env_prefix}_{key.upper()}" for key in ("password", "security_token", "client_secret")}
    entry: dict[str, Any] = {
        "emulator_url": handle.url,
        "auth": "password",
        "username": handle.username,
        "client_id": handle.client_id,
        **{key: {"env": name} for key, name in names.items()},
    }
    environment = {
        names["password"]: handle.password,
        names["security_token"]: handle.security_token,
        names["client_secret"]: handle.client_secret,
    }
    return entry, environment
