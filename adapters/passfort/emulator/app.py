"""The PassFort emulator's Starlette app: the v4 API, control endpoints, faults, delivery status.

API (``/4.0``, ``apikey`` header checked; a wrong key gets error code 204):

- ``GET /4.0/profiles/{id}``, ``GET|POST /4.0/profiles/{id}/collected_data`` (ETag / If-Match,
  ``*`` matches any version, 412 with the latest data when stale), ``POST /4.0/profiles``,
  ``POST /4.0/profiles/{id}/applications``. An unknown ``role`` or collected data without
  ``entity_type`` is refused with code 201, as PassFort's validation would.

Errors with a PassFort code (201 invalid input, 204 invalid API key, 104 chargeable limit) come
as ``{"errors": [{"code": ..., "message": ...}]}`` with an HTTP error status (``error_style``
``"http"``, the default) or with 200 (``"200"``), as GoCardless's client expects them; which one
PassFort uses is unconfirmed, so clients are tested against both. 404 and 412 are statuses in
either style.

Control (no key; an emulator is a local test tool):

- ``POST /_emulator/applications/{id}`` ``{"status": ..., "flag": ..., "user": ...}``: change
  an application, append history, emit PRODUCT_STATUS_CHANGED / PRODUCT_BADGE_CHANGED.
- ``POST /_emulator/profiles``: add a profile. ``GET /_emulator/profiles``: the ids.
- ``POST /_emulator/events`` ``{"event": ..., "profile_id": ..., "data": {...}}``: emit any event.
- ``GET|POST /_emulator/faults``: API error rate, status (503/429/500), PassFort error code
  (e.g. 104), Retry-After, latency, ``fail_next`` (exactly the next N API calls fail).
- ``GET /_emulator/deliveries``; ``POST /_emulator/delivery`` (``deliver_to``, ``batch``,
  ``batch_interval``, ``paused``, ...); ``GET /_emulator/stats``; ``GET /healthz``.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import hmac
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import asdict, dataclass, fields
from functools import partial
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from fieldline.adapters.passfort.emulator.delivery import AUTH_MODES, DeliveryConfig, WebhookDelivery
from fieldline.adapters.passfort.emulator.store import ApplicationNotFound, ProfileStore

__all__ = ["EmulatorState", "ErrorStyle", "Faults", "create_app"]

INVALID_INPUT = 201
INVALID_API_KEY = 204
# lib/passfort.rb of GoCardless's client names the first three; COMPANY_ASSOCIATED is inferred
# from PassFort's guide to company associates (associates can be companies).
ROLES = frozenset({"INDIVIDUAL_CUSTOMER", "INDIVIDUAL_ASSOCIATED", "COMPANY_CUSTOMER", "COMPANY_ASSOCIATED"})
ENTITY_TYPES = frozenset({"INDIVIDUAL", "COMPANY"})
Handler = Callable[[Request], Awaitable[Response]]


class ErrorStyle(enum.StrEnum):
    """How the API answers an error with a PassFort code: with an HTTP error status, or 200."""

    HTTP = "http"
    OK = "200"


@dataclass(slots=True)
class Faults:
    """Injected API failures. ``error_rate`` is a probability per API call.

    ``error_code`` (e.g. 104) makes them PassFort errors, answered in the emulator's
    :class:`ErrorStyle` (``error_status`` in the ``"http"`` style); without it they are plain
    HTTP failures (``error_status``, any style), as a proxy or an outage would give.
    """

    error_rate: float = 0.0
    error_status: int = 503
    error_code: int | None = None
    retry_after: float | None = None
    latency_ms: float = 0.0
    fail_next: int = 0


@dataclass(slots=True)
class EmulatorState:
    """Everything one emulator instance holds."""

    store: ProfileStore
    delivery: WebhookDelivery
    api_key: str
    faults: Faults
    rng: random.Random
    error_style: ErrorStyle = ErrorStyle.HTTP
    api_requests: int = 0
    api_errors_injected: int = 0
    events_emitted: int = 0


# Accepted JSON types per control setting (bool is not a number here).
NUMBER = (int, float)
FAULT_TYPES: dict[str, tuple[type, ...]] = {
    "error_rate": NUMBER,
    "error_status": (int,),
    "error_code": (int, type(None)),
    "retry_after": (*NUMBER, type(None)),
    "latency_ms": NUMBER,
    "fail_next": (int,),
    "seed": (int, type(None)),
    "reset": (bool,),
}
DELIVERY_TYPES: dict[str, tuple[type, ...]] = {
    "deliver_to": (str, type(None)),
    "secret": (str,),
    "batch": (bool,),
    "batch_size": (int,),
    "batch_interval": NUMBER,
    "backoff_base": NUMBER,
    "backoff_cap": NUMBER,
    "timeout": NUMBER,
    "auth": (str,),
}


def _check_settings(body: dict[str, Any], types: dict[str, tuple[type, ...]]) -> str | None:
    for name, value in body.items():
        allowed = types.get(name)
        if allowed is None:
            continue
        if (isinstance(value, bool) and bool not in allowed) or not isinstance(value, allowed):
            return f"{name}: {value!r} has the wrong type"
        if isinstance(value, int | float) and not isinstance(value, bool) and value < 0:
            return f"{name}: must not be negative"
    return None


def _errors(status: int, code: int | None, message: str, **headers: str) -> JSONResponse:
    item: dict[str, Any] = {"message": message}
    if code is not None:
        item["code"] = code
    return JSONResponse({"errors": [item]}, status_code=status, headers=headers or None)


def _refuse(state: EmulatorState, status: int, code: int, message: str, **headers: str) -> JSONResponse:
    """A PassFort error with a code: ``status`` in the ``"http"`` style, 200 in the ``"200"`` one."""
    return _errors(200 if state.error_style is ErrorStyle.OK else status, code, message, **headers)


def _profile_problem(body: Any) -> str | None:
    """Why PassFort's validation would refuse a new profile, or ``None``."""
    if not isinstance(body, dict):
        return "a profile must be a JSON object"
    role = body.get("role")
    if not isinstance(role, str) or role not in ROLES:  # a list is not hashable
        return f"role {role!r} is not one of {sorted(ROLES)}"
    return _collected_data_problem(body.get("collected_data"))


def _collected_data_problem(data: Any) -> str | None:
    """Why PassFort's validation would refuse collected data, or ``None``."""
    if not isinstance(data, dict):
        return "collected_data must be a JSON object"
    entity_type = data.get("entity_type")
    if not isinstance(entity_type, str) or entity_type not in ENTITY_TYPES:
        return f"collected_data.entity_type must be one of {sorted(ENTITY_TYPES)}, not {entity_type!r}"
    return None


async def _json_body(request: Request) -> Any:
    try:
        return await request.json()
    except ValueError:
        return None


def _state(request: Request) -> EmulatorState:
    state: EmulatorState = request.app.state.emulator
    return state


def api(handler: Handler) -> Handler:
    """Wrap an API handler: count, inject faults and latency, check the ``apikey`` header."""

    async def wrapped(request: Request) -> Response:
        state = _state(request)
        state.api_requests += 1
        faults = state.faults
        if faults.latency_ms > 0:
            await asyncio.sleep(faults.latency_ms / 1000)
        if faults.fail_next > 0 or (faults.error_rate > 0 and state.rng.random() < faults.error_rate):
            faults.fail_next = max(0, faults.fail_next - 1)
            state.api_errors_injected += 1
            headers = {} if faults.retry_after is None else {"retry-after": f"{faults.retry_after:g}"}
            if faults.error_code is not None:
                return _refuse(state, faults.error_status, faults.error_code, "injected error", **headers)
            return _errors(faults.error_status, None, "injected fault (emulator)", **headers)
        given = request.headers.get("apikey", "")
        if not hmac.compare_digest(given.encode(), state.api_key.encode()):
            return _refuse(state, 401, INVALID_API_KEY, "Invalid API key")
        return await handler(request)

    return wrapped


# --- API --------------------------------------------------------------------------------------


@api
async def get_profile(request: Request) -> Response:
    profile = _state(request).store.profile(request.path_params["profile_id"])
    if profile is None:
        return _errors(404, None, "Profile not found")
    return JSONResponse(profile)


@api
async def collected_data(request: Request) -> Response:
    state = _state(request)
    profile_id = request.path_params["profile_id"]
    found = state.store.collected_data(profile_id)
    if found is None:
        return _errors(404, None, "Profile not found")
    data, etag = found
    if request.method == "GET":
        return JSONResponse(data, headers={"etag": etag})
    body = await _json_body(request)
    problem = _collected_data_problem(body)
    if problem is not None:
        return _refuse(state, 400, INVALID_INPUT, problem)
    _, new_data, new_etag, envelope = state.store.replace_if_match(
        profile_id, body, request.headers.get("if-match")
    )
    if envelope is None:
        return JSONResponse(new_data, status_code=412, headers={"etag": new_etag})
    _emit(state, [envelope])
    return JSONResponse(new_data, headers={"etag": new_etag})


@api
async def create_profile(request: Request) -> Response:
    state = _state(request)
    body = await _json_body(request)
    problem = _profile_problem(body)
    if problem is not None:
        return _refuse(state, 400, INVALID_INPUT, problem)
    return _add_profile(state, body, refuse=partial(_refuse, state))


@api
async def add_application(request: Request) -> Response:
    state = _state(request)
    profile_id = request.path_params["profile_id"]
    if state.store.profile(profile_id) is None:
        return _errors(404, None, "Profile not found")
    body = await _json_body(request)
    product = body.get("product") if isinstance(body, dict) else None
    if not isinstance(product, dict) or not (product.get("alias") or product.get("id")):
        return _refuse(state, 400, INVALID_INPUT, "give product.alias or product.id")
    known = _known_product(state.store, product)
    if known is None:
        return _refuse(state, 400, INVALID_INPUT, "unknown product")
    return JSONResponse(state.store.add_application(profile_id, known))


def _known_product(store: ProfileStore, wanted: dict[str, Any]) -> dict[str, Any] | None:
    for profile_id in store.profile_ids():
        profile = store.profile(profile_id) or {}
        for application in profile.get("applications", []):
            product = application.get("product", {})
            if (wanted.get("alias") and product.get("alias") == wanted["alias"]) or (
                wanted.get("id") and product.get("id") == wanted["id"]
            ):
                return dict(product)
    return None


# --- control ----------------------------------------------------------------------------------


def _emit(state: EmulatorState, envelopes: list[dict[str, Any]]) -> None:
    state.events_emitted += len(envelopes)
    state.delivery.enqueue(envelopes)


def _add_profile(
    state: EmulatorState, body: dict[str, Any], *, refuse: Callable[[int, int, str], JSONResponse]
) -> Response:
    try:
        profile = state.store.add_profile(body)
    except (ValueError, TypeError, AttributeError) as exc:
        return refuse(400, INVALID_INPUT, str(exc))
    return JSONResponse(profile, status_code=201)


async def control_add_profile(request: Request) -> Response:
    """Add a profile; unlike the API, ``role`` and ``entity_type`` get defaults (for seeds)."""
    body = await _json_body(request)
    if not isinstance(body, dict):
        return _errors(400, INVALID_INPUT, "a profile must be a JSON object")
    return _add_profile(_state(request), body, refuse=_errors)


async def control_profiles(request: Request) -> Response:
    return JSONResponse({"profile_ids": _state(request).store.profile_ids()})


async def control_application(request: Request) -> Response:
    state = _state(request)
    body = await _json_body(request)
    if not isinstance(body, dict) or not ({"status", "flag"} & body.keys()):
        return _errors(400, INVALID_INPUT, 'give {"status": ...} and/or {"flag": ...}')
    status, flag, user = body.get("status"), body.get("flag"), body.get("user")
    if (
        (status is not None and not isinstance(status, str))
        or (flag is not None and not isinstance(flag, str))
        or (user is not None and not isinstance(user, dict))
    ):
        return _errors(
            400, INVALID_INPUT, "status and flag must be strings (flag may be null), user an object"
        )
    try:
        application, envelopes = state.store.update_application(
            request.path_params["application_id"],
            status=status,
            flag=flag,
            set_flag="flag" in body,
            user=user,
        )
    except ApplicationNotFound:
        return _errors(404, None, "Application not found")
    _emit(state, envelopes)
    return JSONResponse({"application": application, "events": envelopes})


async def control_event(request: Request) -> Response:
    state = _state(request)
    body = await _json_body(request)
    if not isinstance(body, dict) or not isinstance(body.get("event"), str):
        return _errors(400, INVALID_INPUT, 'give {"event": NAME, "profile_id": ID, "data": {...}}')
    profile = state.store.profile(str(body.get("profile_id")))
    if profile is None:
        return _errors(404, None, "Profile not found")
    raw = body.get("data")
    data: dict[str, Any] = raw if isinstance(raw, dict) else {}
    envelope = state.store.envelope(body["event"], profile, data)
    _emit(state, [envelope])
    return JSONResponse(envelope)


async def control_faults(request: Request) -> Response:
    state = _state(request)
    if request.method == "POST":
        body = await _json_body(request)
        if not isinstance(body, dict):
            return _errors(400, INVALID_INPUT, "faults must be a JSON object")
        names = {field.name for field in fields(Faults)}
        unknown = sorted(set(body) - names - {"seed", "reset"})
        if unknown:
            return _errors(400, INVALID_INPUT, f"unknown fault settings {unknown}; known: {sorted(names)}")
        problem = _check_settings(body, FAULT_TYPES)
        if problem:
            return _errors(400, INVALID_INPUT, problem)
        if body.get("reset"):
            state.faults = Faults()
        for name in names & body.keys():
            setattr(state.faults, name, body[name])
        if body.get("seed") is not None:
            state.rng.seed(body["seed"])
    return JSONResponse(asdict(state.faults))


async def control_deliveries(request: Request) -> Response:
    return JSONResponse(_state(request).delivery.status())


async def control_delivery(request: Request) -> Response:
    delivery = _state(request).delivery
    body = await _json_body(request)
    if not isinstance(body, dict):
        return _errors(400, INVALID_INPUT, "delivery settings must be a JSON object")
    paused = body.pop("paused", None)
    unknown = sorted(set(body) - DELIVERY_TYPES.keys())
    if unknown:
        return _errors(400, INVALID_INPUT, f"unknown delivery settings {unknown}")
    problem = _check_settings(body, DELIVERY_TYPES)
    if problem:
        return _errors(400, INVALID_INPUT, problem)
    if "auth" in body and body["auth"] not in AUTH_MODES:
        return _errors(400, INVALID_INPUT, f"auth must be one of {list(AUTH_MODES)}")
    if body:
        delivery.reconfigure(**body)
    if paused is not None:
        delivery.pause(bool(paused))
    return JSONResponse(delivery.status())


async def control_stats(request: Request) -> Response:
    state = _state(request)
    return JSONResponse(
        {
            "profiles": len(state.store),
            "api_requests": state.api_requests,
            "api_errors_injected": state.api_errors_injected,
            "events_emitted": state.events_emitted,
        }
    )


async def healthz(request: Request) -> Response:
    return JSONResponse({"ok": True})


API_ROUTES = [
    Route("/4.0/profiles", create_profile, methods=["POST"]),
    Route("/4.0/profiles/{profile_id}", get_profile, methods=["GET"]),
    Route("/4.0/profiles/{profile_id}/collected_data", collected_data, methods=["GET", "POST"]),
    Route("/4.0/profiles/{profile_id}/applications", add_application, methods=["POST"]),
]
CONTROL_ROUTES = [  # not part of PassFort: no API key, for tests and demos
    Route("/_emulator/profiles", control_add_profile, methods=["POST"]),
    Route("/_emulator/profiles", control_profiles, methods=["GET"]),
    Route("/_emulator/applications/{application_id}", control_application, methods=["POST"]),
    Route("/_emulator/events", control_event, methods=["POST"]),
    Route("/_emulator/faults", control_faults, methods=["GET", "POST"]),
    Route("/_emulator/deliveries", control_deliveries, methods=["GET"]),
    Route("/_emulator/delivery", control_delivery, methods=["POST"]),
    Route("/_emulator/stats", control_stats, methods=["GET"]),
    Route("/healthz", healthz, methods=["GET"]),
]


def create_app(
    *,
    store: ProfileStore | None = None,
    delivery: DeliveryConfig | None = None,
    api_key: str,
    faults: Faults | None = None,
    seed: int | None = None,
    error_style: ErrorStyle = ErrorStyle.HTTP,
) -> Starlette:
    """The emulator app. Delivery runs as a task of the app's lifespan."""
    state = EmulatorState(
        store=store or ProfileStore(),
        delivery=WebhookDelivery(delivery or DeliveryConfig()),
        api_key=api_key,
        faults=faults or Faults(),
        rng=random.Random(seed),
        error_style=ErrorStyle(error_style),
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await state.delivery.start()
        try:
            yield
        finally:
            await state.delivery.stop()

    app = Starlette(routes=[*API_ROUTES, *CONTROL_ROUTES], lifespan=lifespan)
    app.state.emulator = state
    return app
