"""The console's pages (Starlette endpoints rendering Jinja2 templates) and its app.

Pages are plain HTML forms and links: every action works without script. One small script
(``static/console.js``, the only one the CSP allows) refreshes the overview's cards every few
seconds. Reading pages are GETs; replay, its dry run, clearing failures and signing out are
POSTs carrying the session's CSRF token.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
import urllib.parse
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import jinja2
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp

from fieldline.console.data import LOG_OUTCOMES, RECORDS_SHOWN, RUN_STATUSES, ConsoleData
from fieldline.console.headers import SecurityHeaders
from fieldline.console.sessions import COOKIE_NAME, SessionBook
from fieldline.errors import FieldlineError
from fieldline.planning.plans import Action
from fieldline.service.admin_auth import is_loopback

__all__ = ["create_console"]

logger = logging.getLogger("fieldline.console")

_HERE = Path(__file__).parent
_MAX_FORM_BYTES = 64 * 1024
_REFRESH_SECONDS = 3

Handler = Callable[[Request, str], Awaitable[Response]]


def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(_HERE / "templates"),
        autoescape=True,  # every value is escaped: error texts and payloads are source data
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["time"] = _format_time
    environment.filters["age"] = _format_age
    environment.filters["pretty"] = _pretty_json
    environment.filters["value"] = _plan_value
    environment.filters["logged"] = _logged_value
    environment.filters["took"] = _took
    return environment


def _format_time(timestamp: float | None) -> str:
    if timestamp is None:
        return "-"
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def _format_age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _plan_value(value: Any) -> str:
    """A plan value as ``plan`` prints it (``(missing)``, null and ``""`` all differ), whole."""
    from fieldline.commands.value_text import format_value

    return format_value(value, limit=sys.maxsize)


def _logged_value(value: Any) -> str:
    """A value as the connector log keeps it (``{"missing": true}`` for none)."""
    if value == {"missing": True}:
        return "(missing)"
    return json.dumps(value, ensure_ascii=False, default=str)


def _took(run: Any) -> str:
    if run.ended_at is None:
        return "running"
    return _format_age(run.ended_at - run.started_at)


def _pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)


async def _form(request: Request) -> dict[str, list[str]]:
    """An ``application/x-www-form-urlencoded`` body (the only kind the console's forms send)."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > _MAX_FORM_BYTES:
            return {}
    return urllib.parse.parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)


def _first(form: dict[str, list[str]], name: str) -> str:
    values = form.get(name)
    return values[0] if values else ""


def _job_ids(form: dict[str, list[str]]) -> list[int]:
    return [int(value) for value in form.get("job", []) if value.isdigit()]


def create_console(data: ConsoleData, sessions: SessionBook, *, prefix: str = "/ui") -> ASGIApp:
    """The console as an ASGI app, to mount at ``prefix`` (links and the cookie use it)."""
    templates = _environment()

    def render(
        request: Request, name: str, session: str | None, status: int = 200, **values: Any
    ) -> Response:
        html = templates.get_template(name).render(
            prefix=prefix,
            csrf=sessions.csrf_token(session) if session else "",
            signed_in=session is not None and sessions.needs_sign_in,
            refresh_seconds=_REFRESH_SECONDS,
            **values,
        )
        return HTMLResponse(html, status_code=status)

    def refused(request: Request, status: int, message: str) -> Response:
        client = request.client.host if request.client else "unknown client"
        logger.warning(
            "console %s %s from %s: refused (%d): %s",
            request.method,
            request.url.path,
            client,
            status,
            message,
        )
        return render(request, "refused.html", None, status=status, message=message)

    def set_cookie(request: Request, response: Response, session: str) -> None:
        response.set_cookie(
            COOKIE_NAME,
            session,
            path=prefix,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )

    def page(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        """``handler`` for operators only: a signed-in session (or, without a token, a loopback
        client, who gets a session at once); POSTs also need the session's CSRF token."""

        async def guarded(request: Request) -> Response:
            if not sessions.needs_sign_in and not is_loopback(request):
                return refused(
                    request,
                    403,
                    "The console answers loopback clients only while no operator token is set"
                    " (FIELDLINE_OPERATOR_TOKEN).",
                )
            session = request.cookies.get(COOKIE_NAME)
            fresh = None
            if not sessions.is_live(session):
                if sessions.needs_sign_in:
                    if request.method != "GET":
                        return refused(request, 403, "Your session has ended: sign in again.")
                    target = urllib.parse.quote(request.url.path, safe="/")
                    return RedirectResponse(f"{prefix}/login?next={target}", status_code=303)
                session = fresh = sessions.open()
            assert session is not None
            if request.method == "POST":
                origin = request.headers.get("origin")
                if origin is not None and origin != f"{request.url.scheme}://{request.url.netloc}":
                    return refused(request, 403, "The form came from another site.")
                form = await _form(request)
                if not sessions.csrf_matches(session, _first(form, "csrf")):
                    return refused(request, 403, "The form has expired: reload the page and try again.")
                request.state.form = form
            response = await handler(request, session)
            if fresh is not None:
                set_cookie(request, response, fresh)
            return response

        return guarded

    async def login_form(request: Request) -> Response:
        if not sessions.needs_sign_in:
            return RedirectResponse(f"{prefix}/", status_code=303)
        return render(request, "login.html", None, next=request.query_params.get("next", ""), error=None)

    async def login(request: Request) -> Response:
        if not sessions.needs_sign_in:
            return RedirectResponse(f"{prefix}/", status_code=303)
        form = await _form(request)
        wanted = _first(form, "next")
        if not wanted.startswith(f"{prefix}/") or wanted.startswith("//"):
            wanted = f"{prefix}/"  # never a redirect off the console
        if not sessions.token_matches(_first(form, "token")):
            client = request.client.host if request.client else "unknown client"
            logger.warning("console sign-in from %s: wrong operator token", client)
            return render(
                request, "login.html", None, status=401, next=wanted, error="That is not the operator token."
            )
        response = RedirectResponse(wanted, status_code=303)
        set_cookie(request, response, sessions.open())
        return response

    async def logout(request: Request, session: str) -> Response:
        sessions.close(session)
        response = RedirectResponse(
            f"{prefix}/login" if sessions.needs_sign_in else f"{prefix}/", status_code=303
        )
        response.delete_cookie(COOKIE_NAME, path=prefix)
        return response

    async def overview(request: Request, session: str) -> Response:
        cards, lookups = await run_in_threadpool(lambda: (data.cards(), data.lookups()))
        return render(
            request,
            "overview.html",
            session,
            cards=cards,
            lookups=lookups,
            message=request.query_params.get("message"),
        )

    async def cards_fragment(request: Request, session: str) -> Response:
        cards, lookups = await run_in_threadpool(lambda: (data.cards(), data.lookups()))
        return render(request, "cards.html", session, cards=cards, lookups=lookups)

    async def logs(request: Request, session: str) -> Response:
        query = request.query_params
        chosen = {name: query.get(name, "") for name in ("source", "key", "action")}
        entries = await run_in_threadpool(
            lambda: data.log_entries(source=chosen["source"], key=chosen["key"], action=chosen["action"])
        )
        return render(
            request,
            "logs.html",
            session,
            entries=entries,
            sources=data.sources(),
            chosen=chosen,
            outcomes=LOG_OUTCOMES,
        )

    async def runs(request: Request, session: str) -> Response:
        query = request.query_params
        chosen = {name: query.get(name, "") for name in ("spec", "status")}
        found = await run_in_threadpool(lambda: data.sync_runs(spec=chosen["spec"], status=chosen["status"]))
        return render(
            request,
            "runs.html",
            session,
            runs=found,
            specs=sorted({spec.name for spec in data.specs.values()} | {run.spec for run in found}),
            statuses=RUN_STATUSES,
            chosen=chosen,
            kept=data.storage.sync_runs is not None,
        )

    async def run(request: Request, session: str) -> Response:
        run_id = int(request.path_params["run_id"])
        query = request.query_params
        chosen = {name: query.get(name, "") for name in ("outcome", "key")}
        found = await run_in_threadpool(lambda: data.sync_run(run_id))
        if found is None:
            return refused(request, 404, f"No run {run_id} is recorded (it may have been purged).")
        records = await run_in_threadpool(
            lambda: data.sync_run_records(run_id, outcome=chosen["outcome"], key=chosen["key"])
        )
        return render(
            request,
            "run.html",
            session,
            run=found,
            records=records,
            chosen=chosen,
            outcomes=("failed", *(action.value for action in Action)),
            shown=RECORDS_SHOWN,
        )

    async def dead_letters(request: Request, session: str) -> Response:
        source = request.query_params.get("source", "")
        letters = await run_in_threadpool(lambda: data.dead_letters(source=source))
        return render(
            request,
            "dead_letters.html",
            session,
            letters=letters,
            sources=data.sources(),
            source=source,
            message=request.query_params.get("message"),
        )

    async def preview(request: Request, session: str) -> Response:
        form = request.state.form
        source = _first(form, "source")
        letters = await run_in_threadpool(lambda: data.chosen_letters(_job_ids(form), source=source))
        if not letters:
            return _back(f"{prefix}/dead-letters", "No dead letters to replay.")
        try:
            previews = await run_in_threadpool(lambda: data.preview(letters))
        except FieldlineError as exc:
            logger.warning("console replay dry run failed: %s", exc)
            return render(request, "preview.html", session, letters=letters, previews={}, error=str(exc))
        except Exception as exc:  # a failing adapter: say so on the page, never a traceback
            logger.error("console replay dry run failed: %s: %s", type(exc).__name__, exc)
            return render(
                request,
                "preview.html",
                session,
                letters=letters,
                previews={},
                error=f"The dry run failed ({type(exc).__name__}); see the service log.",
            )
        return render(request, "preview.html", session, letters=letters, previews=previews, error=None)

    async def replay(request: Request, session: str) -> Response:
        count = await run_in_threadpool(lambda: data.replay(_job_ids(request.state.form)))
        logger.info("console: requeued %d dead letter(s)", count)
        return _back(
            f"{prefix}/dead-letters", f"Requeued {count} dead letter(s); workers apply them in order."
        )

    async def clear_failures(request: Request, session: str) -> Response:
        source = _first(request.state.form, "source")
        count = await run_in_threadpool(lambda: data.clear_failures(source=source))
        return _back(f"{prefix}/", f"Cleared {count} recorded failure(s).")

    app = Starlette(
        routes=[
            Route("/", page(overview), methods=["GET"]),
            Route("/cards", page(cards_fragment), methods=["GET"]),
            Route("/login", login_form, methods=["GET"]),
            Route("/login", login, methods=["POST"]),
            Route("/logout", page(logout), methods=["POST"]),
            Route("/logs", page(logs), methods=["GET"]),
            Route("/runs", page(runs), methods=["GET"]),
            Route("/runs/{run_id:int}", page(run), methods=["GET"]),
            Route("/dead-letters", page(dead_letters), methods=["GET"]),
            Route("/dead-letters/preview", page(preview), methods=["POST"]),
            Route("/dead-letters/replay", page(replay), methods=["POST"]),
            Route("/failures/clear", page(clear_failures), methods=["POST"]),
            Mount("/static", app=StaticFiles(directory=_HERE / "static"), name="static"),
        ],
    )
    return SecurityHeaders(app)


def _back(location: str, message: str) -> Response:
    """Post/redirect/get: back to a page, with a one-line message for it to show."""
    return RedirectResponse(f"{location}?{urllib.parse.urlencode({'message': message})}", status_code=303)
