"""A small httpx client for the PassFort API v4.

One :class:`httpx.Client` per instance (connection pooling), closed by :meth:`close`. The API
key travels in the ``apikey`` header, added per request by an auth flow so it is never part of
the client's default headers (nothing that prints those can leak it).

Errors follow PassFort's documented body, ``{"errors": [{"code": ..., ...}]}`` (or a single
object). Any answer carrying a non-empty ``errors`` is an error, even with HTTP 200 or 201 (as
GoCardless's client reads them; which status PassFort really uses is unconfirmed), so an error
body is never taken for data. The code decides first: 204 (invalid API key) and 201 (invalid
input) are fatal, 104 (chargeable limit reached) stops the run like a daily API limit; an
unknown code in a 200/201 answer is fatal and named. Otherwise the HTTP status decides: 429,
408, 5xx, timeouts and connection errors are retried with exponential backoff and jitter,
honouring ``Retry-After``; ``sleep`` and ``rng`` are injectable so tests never wait.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Generator, Iterable
from typing import Any
from urllib.parse import quote

import httpx

from fieldline import __version__
from fieldline.adapters.passfort.settings import PassFortSettings
from fieldline.backoff import backoff_delay, parse_retry_after
from fieldline.config import Secret
from fieldline.contracts import StopReason
from fieldline.errors import (
    AdapterError,
    BudgetExhaustedError,
    ConfigError,
    FatalAdapterError,
    TransientAdapterError,
)

__all__ = [
    "CHARGEABLE_LIMIT_REACHED",
    "INVALID_API_KEY",
    "INVALID_INPUT",
    "PassFortClient",
    "error_codes",
    "has_errors",
]

INVALID_INPUT = 201
INVALID_API_KEY = 204
CHARGEABLE_LIMIT_REACHED = 104
KNOWN_CODES = frozenset({INVALID_INPUT, INVALID_API_KEY, CHARGEABLE_LIMIT_REACHED})
SUCCESS_STATUSES = frozenset({200, 201})
RETRIABLE_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
ERROR_CODES_URL = "https://passfort.com/developer/v4/data-reference/ErrorCodes"
KEY_HINT = "check FIELDLINE_PASSFORT_API_KEY (or api_key in the [passfort] config table)"


class _ApiKeyAuth(httpx.Auth):
    """Adds ``apikey: <key>`` to each request (PassFort's scheme; not ``Authorization``)."""

    def __init__(self, key: Secret) -> None:
        self._key = key

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["apikey"] = self._key.reveal()
        yield request


def has_errors(body: Any) -> bool:
    """Whether a JSON body is an error answer: its ``errors`` is a non-empty list or object."""
    if not isinstance(body, dict):
        return False
    raw = body.get("errors")
    return isinstance(raw, list | dict) and bool(raw)


def error_codes(body: Any) -> list[tuple[int | None, str]]:
    """``[(code, message)]`` from a PassFort error body; ``[]`` when it has none.

    ``errors`` may be a list or a single object; each item has an integer ``code`` and some
    text (``message``, ``info`` or ``description``; the field name is not documented).
    """
    if not isinstance(body, dict):
        return []
    raw = body.get("errors")
    items: Iterable[Any] = raw if isinstance(raw, list) else [raw] if isinstance(raw, dict) else []
    found: list[tuple[int | None, str]] = []
    for item in items:
        if not isinstance(item, dict):
            continue
        code = item.get("code")
        try:
            number = int(code) if code is not None and not isinstance(code, bool) else None
        except (TypeError, ValueError):
            number = None
        text = next(
            (str(item[key]) for key in ("message", "info", "description") if item.get(key)),
            "",
        )
        found.append((number, text[:200]))
    return found


class PassFortClient:
    """Synchronous PassFort API v4 client (thread-safe: httpx clients may be shared)."""

    def __init__(
        self,
        settings: PassFortSettings,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: Callable[[], float] = random.random,
    ) -> None:
        if not settings.api_key:
            raise ConfigError(
                "no PassFort API key is configured",
                hint="set FIELDLINE_PASSFORT_API_KEY (or api_key in the [passfort] config table)",
            )
        self.settings = settings
        self._sleep = sleep
        self._rng = rng
        self.requests_sent = 0  # every attempt, retries included (for benchmarks and tests)
        self._count_lock = threading.Lock()  # read() fetches from several threads
        self._http = httpx.Client(
            base_url=settings.base_url.rstrip("/") + "/",
            auth=_ApiKeyAuth(settings.api_key),
            headers={"accept": "application/json", "user-agent": f"fieldline/{__version__}"},
            timeout=httpx.Timeout(settings.timeout),
            transport=transport,
            follow_redirects=False,
        )

    def close(self) -> None:
        """Close the pooled connections."""
        self._http.close()

    def __enter__(self) -> PassFortClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # --- endpoints ------------------------------------------------------------------------

    def get_profile(self, profile_id: str) -> dict[str, Any] | None:
        """``GET /profiles/{id}``: the full profile, or ``None`` when PassFort answers 404."""
        response = self.request("GET", f"profiles/{_segment(profile_id)}", none_on_404=True)
        return None if response is None else _json_object(response, "GET", f"profiles/{profile_id}")

    def get_collected_data(self, profile_id: str) -> tuple[dict[str, Any], str | None] | None:
        """``GET /profiles/{id}/collected_data``: ``(data, etag)`` or ``None`` on 404.

        Send the ETag back as ``If-Match`` when replacing collected data.
        """
        path = f"profiles/{_segment(profile_id)}/collected_data"
        response = self.request("GET", path, none_on_404=True)
        if response is None:
            return None
        return _json_object(response, "GET", path), response.headers.get("etag")

    def replace_collected_data(
        self, profile_id: str, data: dict[str, Any], etag: str | None
    ) -> tuple[bool, dict[str, Any] | None, str | None]:
        """``POST /profiles/{id}/collected_data`` (a full replace) with ``If-Match: etag``.

        Returns ``(True, new data, new etag)``, or ``(False, latest data, its etag)`` when
        PassFort answers ``412 Precondition Failed`` (someone changed it since ``etag``; the
        latest data is ``None`` when the answer did not carry it). Retrying after a timeout is
        safe: a write that already happened makes the retry a 412.
        """
        path = f"profiles/{_segment(profile_id)}/collected_data"
        headers = {"if-match": etag} if etag else None
        response = self.request("POST", path, json=data, headers=headers, idempotent=True, allow=(412,))
        assert response is not None  # no none_on_404: a missing profile raises
        if response.status_code == 412:
            try:
                latest: Any = response.json()
            except ValueError:
                latest = None
            return False, latest if isinstance(latest, dict) else None, response.headers.get("etag")
        return True, _json_object(response, "POST", path), response.headers.get("etag")

    # --- transport ------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        headers: dict[str, str] | None = None,
        none_on_404: bool = False,
        idempotent: bool | None = None,
        allow: tuple[int, ...] = (),
    ) -> httpx.Response | None:
        """Send one API request with retries; the response for a 200/201 without ``errors``.

        Raises :class:`TransientAdapterError` once retries are used up (``retry_after`` set
        from the server when it gave one), :class:`FatalAdapterError` for errors retrying
        will not fix (including any answer with an ``errors`` body that no retry helps),
        :class:`BudgetExhaustedError` for PassFort's chargeable limit.
        ``idempotent`` (default: true for GET/HEAD/PUT/DELETE) allows retrying after a timeout
        or a 5xx, when PassFort may already have acted; otherwise only refused connections,
        429 and 503 are retried in place. A status in ``allow`` is returned as an answer.
        """
        if idempotent is None:
            idempotent = method.upper() in {"GET", "HEAD", "PUT", "DELETE", "OPTIONS"}
        attempt = 0
        waited = 0.0
        where = f"PassFort {method} /{path.lstrip('/')}"
        while True:
            cause: Exception | None = None
            try:
                with self._count_lock:
                    self.requests_sent += 1
                response = self._http.request(method, path, json=json, headers=headers)
            except httpx.TimeoutException as exc:
                cause = exc
                failure: AdapterError = TransientAdapterError(
                    f"{where}: no answer within {self.settings.timeout:g}s",
                    hint="PassFort is slow or unreachable; the job will be retried",
                    attempts=attempt + 1,
                )
            except httpx.TransportError as exc:
                cause = exc
                failure = TransientAdapterError(
                    f"{where}: {type(exc).__name__}: {exc}",
                    hint=f"is {self.settings.base_url} reachable?",
                    attempts=attempt + 1,
                )
            else:
                if response.status_code in allow:
                    return response
                error = self._error_in(where, response, attempts=attempt + 1)
                if error is None:
                    return response
                if none_on_404 and _not_found(response, error):
                    return None
                if not error.retriable:
                    raise error
                failure = error
            retry_after = failure.retry_after if isinstance(failure, TransientAdapterError) else None
            # A refused connection, 429 and 503 mean PassFort did nothing: safe to resend anything.
            refused = failure.context.get("status") in (429, 503)
            not_processed = refused or isinstance(cause, httpx.ConnectError)
            if attempt >= self.settings.max_retries or not (idempotent or not_processed):
                raise failure from cause
            delay = backoff_delay(
                attempt, base=self.settings.backoff_base, cap=self.settings.backoff_cap, rng=self._rng
            )
            if retry_after is not None:
                delay = max(delay, retry_after)
            if waited + delay > self.settings.max_retry_wait:
                # Too long to block a thread (and a graceful shutdown) on: hand it to the queue.
                raise failure from cause
            self._sleep(delay)
            waited += delay
            attempt += 1

    def _error_in(self, where: str, response: httpx.Response, *, attempts: int) -> AdapterError | None:
        """The error an answer carries, or ``None`` for a 200/201 whose body has no ``errors``."""
        status = response.status_code
        try:
            body: Any = response.json()
        except ValueError:
            body = None
        if status in SUCCESS_STATUSES and not has_errors(body):
            return None
        codes = error_codes(body)
        numbers = [code for code, _ in codes if code is not None]
        detail = "; ".join(
            f"error {code}: {text}" if text else f"error {code}" if code is not None else text
            for code, text in codes
        )
        message = f"{where}: HTTP {status}" + (" with an error body" if status in SUCCESS_STATUSES else "")
        message += f" ({detail})" if detail else ""
        context: dict[str, Any] = {"status": status, "codes": numbers, "attempts": attempts}
        if INVALID_API_KEY in numbers or status == 401:
            return FatalAdapterError(message, hint=KEY_HINT, **context)
        if INVALID_INPUT in numbers:
            return FatalAdapterError(
                message, hint="PassFort refused the data as invalid; fix the data or the mapping", **context
            )
        if CHARGEABLE_LIMIT_REACHED in numbers:
            return BudgetExhaustedError(
                message,
                # PassFort's own limit, like an org's daily API limit; no run budget was used up.
                reason=StopReason.DAILY_LIMIT,
                retry_after=parse_retry_after(response.headers.get("retry-after")),
                hint="PassFort's chargeable limit is reached: raise it with PassFort; paused jobs resume "
                "on their own, a batch run can simply be run again",
                **context,
            )
        if status in SUCCESS_STATUSES:
            unknown = ", ".join(str(number) for number in numbers) or "none given"
            return FatalAdapterError(
                f"{message}: unknown PassFort error code ({unknown})",
                hint=f"the answer was not used as data; look the code up at {ERROR_CODES_URL}",
                **context,
            )
        if status in RETRIABLE_STATUSES:
            return TransientAdapterError(
                message,
                retry_after=parse_retry_after(response.headers.get("retry-after")),
                hint="PassFort is busy or failing; retried with backoff",
                **context,
            )
        if status == 403:
            return FatalAdapterError(message, hint="the API key lacks permission for this call", **context)
        return FatalAdapterError(message, hint="the request was refused; check the data sent", **context)


def _not_found(response: httpx.Response, error: AdapterError) -> bool:
    # "Not found" is the status's word, unless a known error code says something else.
    return response.status_code == 404 and not KNOWN_CODES & set(error.context["codes"])


def _segment(value: str) -> str:
    if not value or not value.strip():
        raise FatalAdapterError("a PassFort profile id is empty", hint="check data.profile_id / the id list")
    return quote(value, safe="")


def _json_object(response: httpx.Response, method: str, path: str) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError as exc:
        raise FatalAdapterError(
            f"PassFort {method} /{path}: the answer is not JSON",
            hint="is base_url the PassFort API (…/4.0)?",
            status=response.status_code,
        ) from exc
    if not isinstance(body, dict):
        raise FatalAdapterError(
            f"PassFort {method} /{path}: expected a JSON object, got {type(body).__name__}",
            status=response.status_code,
        )
    return body
