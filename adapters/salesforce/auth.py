"""OAuth 2.0 token requests against a configurable login host.

simple-salesforce hard-codes ``https://{domain}.salesforce.com`` for logins, so fieldline does the
token call itself (JWT bearer, refresh token or username-password) and hands simple-salesforce
the resulting ``instance_url`` and access token.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import requests

from fieldline.adapters.salesforce.settings import AuthMethod, SalesforceSettings
from fieldline.config import Secret
from fieldline.errors import ConfigError, FatalAdapterError, TransientAdapterError

__all__ = ["Token", "fetch_token", "jwt_assertion"]

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
JWT_LIFETIME_SECONDS = 180  # what simple-salesforce uses; Salesforce allows at most 5 minutes


@dataclass(frozen=True, slots=True)
class Token:
    """An access token and the org's instance URL it is valid for."""

    access_token: Secret
    instance_url: str
    renewable: bool  # False for a configured access_token: nothing to log in again with


def jwt_assertion(settings: SalesforceSettings, *, now: float | None = None) -> str:
    """The signed RS256 JWT for the bearer flow (``iss`` consumer key, ``sub`` username)."""
    import jwt

    if not settings.consumer_key or not settings.username:
        raise ConfigError(
            "JWT bearer auth needs a username and a consumer key",
            hint="set FIELDLINE_SALESFORCE_USERNAME and FIELDLINE_SALESFORCE_CONSUMER_KEY",
        )
    issued = int(now if now is not None else time.time())
    claims = {
        "iss": settings.consumer_key,
        "sub": settings.username,
        "aud": settings.audience,
        "exp": issued + JWT_LIFETIME_SECONDS,
    }
    try:
        return jwt.encode(claims, settings.private_key_pem(), algorithm="RS256")
    except (ValueError, TypeError, jwt.PyJWTError) as exc:
        raise ConfigError(
            "the Salesforce private key cannot sign a JWT",
            hint="FIELDLINE_SALESFORCE_PRIVATE_KEY_FILE must be an unencrypted RSA key in PEM form",
        ) from exc


def _token_form(settings: SalesforceSettings) -> dict[str, str]:
    method = settings.auth_method
    if method is AuthMethod.JWT:
        return {"grant_type": JWT_GRANT, "assertion": jwt_assertion(settings)}
    if method is AuthMethod.REFRESH_TOKEN:
        if not settings.client_id or not settings.refresh_token:
            raise ConfigError(
                "refresh-token auth needs a client id and a refresh token",
                hint="set FIELDLINE_SALESFORCE_CLIENT_ID and FIELDLINE_SALESFORCE_REFRESH_TOKEN",
            )
        form = {
            "grant_type": "refresh_token",
            "refresh_token": settings.refresh_token.reveal(),
            "client_id": settings.client_id,
        }
        if settings.client_secret:
            form["client_secret"] = settings.client_secret.reveal()
        return form
    if method is AuthMethod.PASSWORD:
        if not settings.username or not settings.password:
            raise ConfigError(
                "password auth needs a username and a password",
                hint="set FIELDLINE_SALESFORCE_USERNAME and FIELDLINE_SALESFORCE_PASSWORD",
            )
        password = settings.password.reveal()
        if settings.security_token:
            password += settings.security_token.reveal()
        form = {"grant_type": "password", "username": settings.username, "password": password}
        if settings.client_id:
            form["client_id"] = settings.client_id
        if settings.client_secret:
            form["client_secret"] = settings.client_secret.reveal()
        return form
    raise AssertionError(f"no token request for {method}")  # pragma: no cover - TOKEN handled above


def fetch_token(settings: SalesforceSettings, session: requests.Session) -> Token:
    """Log in with the configured flow and return a fresh token.

    A configured ``access_token`` is returned as is (not renewable). Wrong credentials raise
    :class:`FatalAdapterError` with Salesforce's ``error``/``error_description`` (never the
    secret); an unreachable login host raises :class:`TransientAdapterError`.
    """
    method = settings.auth_method
    if method is AuthMethod.TOKEN:
        if not settings.access_token or not settings.instance_url:
            raise ConfigError(
                "token auth needs an instance URL and an access token",
                hint="set FIELDLINE_SALESFORCE_INSTANCE_URL and FIELDLINE_SALESFORCE_ACCESS_TOKEN",
            )
        instance = settings.emulator_url or settings.instance_url
        return Token(settings.access_token, instance.rstrip("/"), renewable=False)
    url = f"{settings.login_url}/services/oauth2/token"
    form = _token_form(settings)
    try:
        response = session.post(url, data=form, headers={"Accept": "application/json"})
    except requests.RequestException as exc:
        raise TransientAdapterError(
            f"cannot reach the Salesforce login host {settings.login_url}: {type(exc).__name__}",
            hint="check the network and FIELDLINE_SALESFORCE_DOMAIN / MY_DOMAIN",
            login_url=settings.login_url,
        ) from exc
    body: Any
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code >= 500:
        raise TransientAdapterError(
            f"Salesforce login host {settings.login_url} answered {response.status_code}",
            login_url=settings.login_url,
            status=response.status_code,
        )
    if response.status_code != 200 or not isinstance(body, dict) or "access_token" not in body:
        error = body.get("error", "") if isinstance(body, dict) else ""
        description = body.get("error_description", "") if isinstance(body, dict) else ""
        detail = f"{error}: {description}" if description else (error or f"HTTP {response.status_code}")
        raise FatalAdapterError(
            f"Salesforce login ({method.value}) at {settings.login_url} failed: {detail}",
            hint="check the credentials, the connected app's pre-authorization, and sandbox vs production",
            login_url=settings.login_url,
            status=response.status_code,
            error=error,
        )
    instance_url = str(body.get("instance_url") or settings.instance_url or settings.login_url)
    return Token(Secret(str(body["access_token"])), instance_url.rstrip("/"), renewable=True)
