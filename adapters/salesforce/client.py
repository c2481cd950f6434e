"""One connection to a Salesforce org: login, retries, re-login, budget, error translation.

Every API call of the adapter goes through :meth:`SalesforceClient.call`, which is where
simple-salesforce and requests exceptions become fieldline errors, once:

- 401 ``INVALID_SESSION_ID``: log in again and repeat the same call (the write is not lost);
- 5xx, 503 with ``Retry-After``, a top-level ``UNABLE_TO_LOCK_ROW`` and connection failures:
  back off and retry, then :class:`~fieldline.errors.TransientAdapterError`;
- 403 ``REQUEST_LIMIT_EXCEEDED`` or the run's budget: :class:`~fieldline.errors.BudgetExhaustedError`
  at once (``reason`` daily limit or budget; ``apply`` returns it as a stop value);
- anything else: :class:`SalesforceRequestError` (fatal) with Salesforce's code and message.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import requests
import requests.adapters

from fieldline.adapters.salesforce.auth import Token, fetch_token
from fieldline.adapters.salesforce.budget import ApiBudget
from fieldline.adapters.salesforce.retry import RetryPolicy
from fieldline.adapters.salesforce.session import SalesforceSession
from fieldline.adapters.salesforce.settings import SalesforceSettings
from fieldline.contracts import StopReason
from fieldline.errors import BudgetExhaustedError, FatalAdapterError, TransientAdapterError

__all__ = ["SalesforceClient", "SalesforceRequestError", "error_code", "error_message"]

T = TypeVar("T")

logger = logging.getLogger("fieldline.salesforce")

_RETRIABLE_STATUS = frozenset({429, 500, 502, 503, 504})
_MAYBE_DONE_STATUS = frozenset({500, 502, 504})  # the request may have been carried out
_MAX_RELOGINS = 2


class SalesforceRequestError(FatalAdapterError):
    """Salesforce refused a request and retrying will not help (``status``, ``code`` in context)."""


def error_code(content: Any) -> str:
    """The ``errorCode`` of a top-level error body (a JSON array of errors)."""
    first = content[0] if isinstance(content, list) and content else content
    if isinstance(first, Mapping):
        return str(first.get("errorCode") or first.get("statusCode") or first.get("error") or "")
    return ""


def error_message(content: Any) -> str:
    """The ``message`` of a top-level error body, or the raw text."""
    first = content[0] if isinstance(content, list) and content else content
    if isinstance(first, Mapping):
        return str(first.get("message") or first.get("error_description") or "")
    return str(content or "")[:300]


class SalesforceClient:
    """A lazily connected simple-salesforce client with fieldline's error and retry policy.

    ``settings`` say where and how to log in; ``retry`` how to back off (its ``sleep`` is
    injectable); ``budget`` caps this run's API calls.
    """

    def __init__(
        self,
        settings: SalesforceSettings,
        *,
        retry: RetryPolicy | None = None,
        budget: ApiBudget | None = None,
        transport: requests.adapters.BaseAdapter | None = None,
    ) -> None:
        self.settings = settings
        # A requests transport adapter mounted for every URL (tests fake Salesforce with one).
        self.transport = transport
        self.retry = retry or RetryPolicy()
        self.budget = budget or ApiBudget()
        self._session: SalesforceSession | None = None
        self._auth_session: SalesforceSession | None = None
        self._sf: Any = None
        self._token: Token | None = None
        self.logins = 0

    # --- connection -----------------------------------------------------------------------

    @property
    def session(self) -> SalesforceSession:
        """The HTTP session API calls use (created on first use)."""
        if self._session is None:
            self._session = self._new_session()
        return self._session

    def _new_session(self) -> SalesforceSession:
        session = SalesforceSession(plain_http_base=self.settings.emulator_url, timeout=self.settings.timeout)
        if self.transport is not None:
            session.mount("https://", self.transport)
            session.mount("http://", self.transport)
        return session

    def connection(self) -> Any:
        """The ``simple_salesforce.Salesforce`` object, logging in on first use."""
        if self._sf is None:
            self._login()
        return self._sf

    def _login(self) -> None:
        from simple_salesforce.api import Salesforce

        if self._auth_session is None:
            self._auth_session = self._new_session()
        self._token = fetch_token(self.settings, self._auth_session)
        if self._token.renewable:
            self.logins += 1  # OAuth token requests made (a configured token needs none)
        self._sf = Salesforce(
            instance_url=self._token.instance_url,
            session_id=self._token.access_token.reveal(),
            session=self.session,
            version=self.settings.api_version,
        )

    @property
    def base_url(self) -> str:
        """``https://instance/services/data/vXX.X/`` (rewritten for an emulator by the session)."""
        return str(self.connection().base_url)

    def close(self) -> None:
        """Close the HTTP sessions; safe to call twice."""
        for session in (self._session, self._auth_session):
            if session is not None:
                session.close()
        self._session = None
        self._auth_session = None
        self._sf = None

    # --- calls ----------------------------------------------------------------------------

    def call(self, what: str, operation: Callable[[Any], T], *, idempotent: bool = True) -> T:
        """Run ``operation(sf)`` with re-login, retries and budget accounting.

        ``what`` names the call in error messages (``query Account``, ``create PassFort_Application__c``).
        ``idempotent=False`` (plain creates): a failure after which Salesforce may have done the
        work (500, 502, 504, a read timeout, a dropped connection) is not repeated in place — it
        raises :class:`TransientAdapterError` at once, so the job is planned again and the lookup
        finds what was created. Refusals that mean "not done" (429, 503, a lock, a connection
        never made) are retried as usual.
        """
        from simple_salesforce.exceptions import SalesforceError, SalesforceExpiredSession

        attempt = 0
        relogins = 0
        waited = 0.0
        while True:
            sf = self.connection()
            self.budget.check()
            before = self.session.calls
            try:
                return operation(sf)
            except SalesforceExpiredSession as exc:
                if self._token is not None and not self._token.renewable:
                    raise FatalAdapterError(
                        f"Salesforce session expired during {what}",
                        hint="configure login credentials (JWT, refresh token or password) instead of "
                        "a fixed FIELDLINE_SALESFORCE_ACCESS_TOKEN so fieldline can log in again",
                        status=401,
                    ) from exc
                relogins += 1
                if relogins > _MAX_RELOGINS:
                    raise FatalAdapterError(
                        f"Salesforce rejects fresh sessions during {what} (INVALID_SESSION_ID)",
                        hint="check the connected app's session policies and the user's permissions",
                        status=401,
                    ) from exc
                logger.info("Salesforce session expired during %s; logging in again", what)
                self._login()
                continue
            except SalesforceError as exc:
                status = int(exc.status)
                code = error_code(exc.content)
                message = error_message(exc.content)
                if code == "REQUEST_LIMIT_EXCEEDED":
                    raise BudgetExhaustedError(
                        f"Salesforce refused {what}: the org's API request limit is exceeded ({message})",
                        reason=StopReason.DAILY_LIMIT,
                        retry_after=self.session.last_retry_after,
                        hint="wait for the rolling 24-hour window or lower the run's volume",
                        status=status,
                        code=code,
                    ) from exc
                retriable = status in _RETRIABLE_STATUS or code == "UNABLE_TO_LOCK_ROW"
                if not idempotent and status in _MAYBE_DONE_STATUS and code != "UNABLE_TO_LOCK_ROW":
                    raise TransientAdapterError(
                        f"Salesforce answered {status} to {what}; it may have written it, so it is "
                        f"not sent again blindly: {code or status}: {message}",
                        retry_after=self.session.last_retry_after,
                        hint="the job is planned again: the lookup finds any record already created",
                        status=status,
                        code=code,
                    ) from exc
                if not retriable:
                    raise SalesforceRequestError(
                        f"Salesforce refused {what}: {code or status}: {message}",
                        hint=_hint_for(code, status),
                        status=status,
                        code=code,
                    ) from exc
                delay = self.retry.delay(attempt, self.session.last_retry_after)
                if attempt >= self.retry.max_retries or waited + delay > self.retry.max_total_wait:
                    raise TransientAdapterError(
                        f"Salesforce kept failing {what} after {attempt + 1} attempts: "
                        f"{code or status}: {message}",
                        retry_after=self.session.last_retry_after or delay,
                        hint="retry later; Salesforce may be under maintenance or overloaded",
                        status=status,
                        code=code,
                    ) from exc
                logger.warning(
                    "Salesforce answered %s to %s (%s); retry %d of %d",
                    status,
                    what,
                    code or "no code",
                    attempt + 1,
                    self.retry.max_retries,
                )
                self.retry.sleep(delay)
                waited += delay
                attempt += 1
            except requests.RequestException as exc:
                if not idempotent and not isinstance(exc, requests.ConnectTimeout):
                    raise TransientAdapterError(
                        f"lost the answer of Salesforce to {what}: {type(exc).__name__}; it may have "
                        "written it, so it is not sent again blindly",
                        hint="the job is planned again: the lookup finds any record already created",
                    ) from exc
                if attempt >= self.retry.max_retries:
                    raise TransientAdapterError(
                        f"cannot reach Salesforce for {what}: {type(exc).__name__}",
                        hint="check the network; the run can be retried safely",
                    ) from exc
                logger.warning("cannot reach Salesforce for %s (%s); retrying", what, type(exc).__name__)
                self.retry.wait(attempt)
                attempt += 1
            finally:
                self.budget.add(self.session.calls - before)
                self.budget.observe(self.session.last_api_usage)

    def request(
        self,
        method: str,
        path: str,
        *,
        what: str,
        json: Any = None,
        data: bytes | str | None = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
    ) -> requests.Response:
        """A raw REST call relative to the versioned base URL (``jobs/ingest``), with the same
        policy as :meth:`call`. Statuses of 300 and above raise."""

        def send(sf: Any) -> requests.Response:
            from simple_salesforce.util import exception_handler

            merged = dict(sf.headers)
            merged.update(headers or {})
            response: requests.Response = sf.session.request(
                method, sf.base_url + path, headers=merged, json=json, data=data, params=params
            )
            if response.status_code >= 300:
                exception_handler(response, name=path)
            return response

        return self.call(what, send)

    def restful(self, method: str, path: str, *, what: str, json: Any = None, idempotent: bool = True) -> Any:
        """A JSON REST call through simple-salesforce's ``restful`` (``None`` on 204)."""
        return self.call(what, lambda sf: sf.restful(path, method=method, json=json), idempotent=idempotent)


def _hint_for(code: str, status: int) -> str:
    if code == "NOT_FOUND" or status == 404:
        return "check the object and field names (fieldline describe OBJECT lists them)"
    if code in {"INVALID_FIELD", "MALFORMED_QUERY"}:
        return "check the field names in the spec against `fieldline describe OBJECT`"
    if status == 403:
        return "the integration user lacks a permission for this object or field"
    return "check the request against the org's metadata"
