"""OAuth 2.0 token endpoint and session checks of the emulated org.

Grants: JWT bearer (RS256 checked against the configured or generated public key), refresh token,
username-password (password + security token) and client credentials. Access tokens are random and
live until :meth:`Sessions.expire_all` or ``session_seconds``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509 import load_pem_x509_certificate

from fieldline.adapters.salesforce.emulator.state import EmulatorSettings
from fieldline.errors import ConfigError

__all__ = ["Credentials", "OAuthError", "Sessions", "basic_credentials", "generate_key_pair"]

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
LOGIN_AUDIENCES = ("https://login.salesforce.com", "https://test.salesforce.com")


class OAuthError(Exception):
    """A token request Salesforce would refuse: ``{"error", "error_description"}`` with ``status``."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status


def generate_key_pair() -> tuple[str, str]:
    """A fresh RSA key pair as (private key PEM, public key PEM)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public_pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private_pem, public_pem


def _load_public_key(pem: str) -> Any:
    data = pem.encode()
    try:
        if b"CERTIFICATE" in data:
            return load_pem_x509_certificate(data).public_key()
        return serialization.load_pem_public_key(data)
    except ValueError as exc:
        raise ConfigError(
            "the emulator's JWT public key is not a PEM public key or certificate",
            hint="pass the connected app's certificate (PEM) or leave it unset to generate a key pair",
        ) from exc


@dataclass(frozen=True, slots=True)
class Credentials:
    """The built-in user and connected app (test values, printed by the CLI on purpose)."""

    username: str
    password: str
    security_token: str
    consumer_key: str
    client_secret: str
    refresh_token: str
    jwt_private_key_pem: str | None
    jwt_public_key: Any


class Sessions:
    """Issues and checks access tokens; ``clock`` (seconds) ages them, so tests can move it."""

    def __init__(self, settings: EmulatorSettings, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self._clock = clock
        private_pem: str | None = None
        public_pem = settings.jwt_public_key_pem
        if public_pem is None:
            private_pem, public_pem = generate_key_pair()
        self.credentials = Credentials(
            username=settings.username,
            password=settings.password,
            security_token=settings.security_token,
            consumer_key=settings.consumer_key,
            client_secret=settings.client_secret,
            refresh_token=settings.refresh_token or "5Aep" + secrets.token_urlsafe(48),
            jwt_private_key_pem=private_pem,
            jwt_public_key=_load_public_key(public_pem),
        )
        self._refresh_tokens = {self.credentials.refresh_token}
        self._tokens: dict[str, float] = {}
        self._signing_key = secrets.token_bytes(32)

    def issue(self) -> str:
        """A new valid access token."""
        token = f"{self.settings.org_id[:15]}!AR{secrets.token_urlsafe(72)}"
        self._tokens[token] = self._clock()
        return token

    def is_valid(self, token: str) -> bool:
        issued = self._tokens.get(token)
        if issued is None:
            return False
        lifetime = self.settings.session_seconds
        if lifetime is not None and self._clock() - issued > lifetime:
            del self._tokens[token]
            return False
        return True

    def is_refresh_token(self, token: str) -> bool:
        return token in self._refresh_tokens

    def revoke(self, token: str) -> bool:
        """Invalidate one access or refresh token; ``False`` when it is neither."""
        if self._tokens.pop(token, None) is not None:
            return True
        if token in self._refresh_tokens:
            self._refresh_tokens.discard(token)
            return True
        return False

    def expire_all(self) -> None:
        """Invalidate every access token issued so far (refresh tokens stay valid)."""
        self._tokens.clear()

    def token_from_header(self, header: str | None) -> str | None:
        """The token of an ``Authorization: Bearer|OAuth <token>`` header."""
        if not header:
            return None
        scheme, _, token = header.partition(" ")
        if scheme.lower() not in ("bearer", "oauth") or not token:
            return None
        return token.strip()

    # -- token endpoint ------------------------------------------------------------------------
    def grant(self, form: dict[str, str], authorization: str | None, base_url: str) -> dict[str, Any]:
        """Answer a token request; raises :class:`OAuthError` for a refused one."""
        grant_type = form.get("grant_type", "")
        basic_id, basic_secret = basic_credentials(authorization)
        client_id = form.get("client_id") or basic_id
        client_secret = form.get("client_secret") or basic_secret
        creds = self.credentials
        refresh: str | None = None
        if grant_type == JWT_GRANT:
            self._check_jwt(form.get("assertion", ""), base_url)
        elif grant_type == "password":
            self._check_client(client_id, client_secret, secret_required=True)
            if form.get("username") != creds.username or form.get("password") != (
                creds.password + creds.security_token
            ):
                raise OAuthError("invalid_grant", "authentication failure")
        elif grant_type == "refresh_token":
            self._check_client(client_id, client_secret, secret_required=False)
            if form.get("refresh_token") not in self._refresh_tokens:
                raise OAuthError("invalid_grant", "expired access/refresh token")
            if self.settings.refresh_token_rotation:
                self._refresh_tokens.discard(form["refresh_token"])
                refresh = "5Aep" + secrets.token_urlsafe(48)
                self._refresh_tokens.add(refresh)
        elif grant_type == "client_credentials":
            self._check_client(client_id, client_secret, secret_required=True)
        else:
            raise OAuthError("unsupported_grant_type", "grant type not supported")
        return self._token_response(base_url, refresh)

    def _token_response(self, base_url: str, refresh: str | None) -> dict[str, Any]:
        token = self.issue()
        issued_at = str(int(time.time() * 1000))
        identity = f"{base_url}/id/{self.settings.org_id}/{self.settings.user_id}"
        signature = base64.b64encode(
            hmac.new(self._signing_key, (identity + issued_at).encode(), hashlib.sha256).digest()
        ).decode()
        body: dict[str, Any] = {
            "access_token": token,
            "instance_url": base_url,
            "id": identity,
            "token_type": "Bearer",
            "issued_at": issued_at,
            "signature": signature,
            "scope": "api id refresh_token",
        }
        if refresh is not None:
            body["refresh_token"] = refresh
        return body

    def _check_client(
        self, client_id: str | None, client_secret: str | None, *, secret_required: bool
    ) -> None:
        creds = self.credentials
        if client_id != creds.consumer_key:
            raise OAuthError("invalid_client_id", "client identifier invalid")
        if (client_secret or secret_required) and client_secret != creds.client_secret:
            raise OAuthError("invalid_client", "invalid client credentials")

    def _check_jwt(self, assertion: str, base_url: str) -> None:
        creds = self.credentials
        try:
            claims = jwt.decode(
                assertion,
                creds.jwt_public_key,
                algorithms=["RS256"],
                options={"require": ["iss", "sub", "aud", "exp"], "verify_aud": False},
            )
        except jwt.ExpiredSignatureError as exc:
            raise OAuthError("invalid_grant", "expired authorization code") from exc
        except jwt.InvalidSignatureError as exc:
            raise OAuthError("invalid_grant", "invalid assertion") from exc
        except jwt.PyJWTError as exc:
            raise OAuthError("invalid_grant", "invalid assertion") from exc
        if claims.get("iss") != creds.consumer_key:
            raise OAuthError("invalid_client_id", "client identifier invalid")
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        allowed = {*LOGIN_AUDIENCES, base_url.rstrip("/")}
        if not any(isinstance(a, str) and a.rstrip("/") in allowed for a in audiences):
            raise OAuthError("invalid_grant", "audience is invalid")
        if claims.get("sub") != creds.username:
            raise OAuthError("invalid_grant", "user hasn't approved this consumer")


def basic_credentials(header: str | None) -> tuple[str | None, str | None]:
    """(client id, secret) from an ``Authorization: Basic`` header, or ``(None, None)``."""
    if not header or not header.lower().startswith("basic "):
        return None, None
    try:
        decoded = base64.b64decode(header[6:].strip()).decode()
    except (ValueError, UnicodeDecodeError):
        return None, None
    key, _, secret = decoded.partition(":")
    return key, secret
