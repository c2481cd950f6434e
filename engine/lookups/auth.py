"""Caller credentials for the lookup endpoint: API keys compared in constant time, or RS256 JWTs.

Keys come from ``FIELDLINE_LOOKUP_API_KEYS`` (comma-separated) or ``api_keys`` (a list) in the
config file's ``[lookup]`` table. Callers send one as ``Authorization: Bearer KEY`` or
``X-API-Key: KEY``. Every configured key is compared, whatever matches first, so the time taken
does not say which key (or how much of one) was right.

With ``jwt_public_key_file`` (and optionally ``jwt_audience``, ``jwt_issuer``) set, a caller may
instead send ``Authorization: Bearer <JWT>`` signed RS256 by the matching private key, with an
``exp``; only RS256 is accepted (never ``none`` or an HMAC algorithm keyed by the public key).
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from fieldline.config import Secret, adapter_settings
from fieldline.errors import ConfigError

__all__ = ["MIN_API_KEY_LENGTH", "ApiKeys", "CallerAuth", "JwtVerifier", "load_api_keys", "load_caller_auth"]

MIN_API_KEY_LENGTH = 24


class ApiKeys:
    """The keys a caller may present. No key configured: nobody is let in."""

    def __init__(self, keys: Sequence[Secret]) -> None:
        self._keys = tuple(key.reveal().encode() for key in keys)

    def __bool__(self) -> bool:
        return bool(self._keys)

    def allows(self, presented: str | None) -> bool:
        """Whether ``presented`` is one of the keys (constant time in which key matched)."""
        if not presented or not self._keys:
            return False
        candidate = presented.encode("utf-8", "surrogateescape")
        matched = False
        for key in self._keys:
            matched |= hmac.compare_digest(candidate, key)
        return matched

    def allows_headers(self, headers: Mapping[str, str]) -> bool:
        """Whether the request's ``Authorization: Bearer`` or ``X-API-Key`` carries a key."""
        scheme, _, credential = (headers.get("authorization") or "").partition(" ")
        if scheme.lower() == "bearer" and self.allows(credential.strip()):
            return True
        return self.allows(headers.get("x-api-key"))


def load_api_keys(environ: Mapping[str, str] | None = None) -> ApiKeys:
    """The configured keys; a key shorter than :data:`MIN_API_KEY_LENGTH` is refused."""
    raw = adapter_settings("lookup", environ).get("api_keys")
    if raw is None or raw == "":
        return ApiKeys(())
    if isinstance(raw, Secret):
        raw = raw.reveal()
    items = raw.split(",") if isinstance(raw, str) else raw
    if not isinstance(items, list | tuple) or not all(isinstance(item, str | Secret) for item in items):
        raise ConfigError(
            "the lookup API keys must be text",
            hint="set FIELDLINE_LOOKUP_API_KEYS=key1,key2 or api_keys = [...] under [lookup]",
        )
    keys = [item if isinstance(item, Secret) else Secret(item.strip()) for item in items]
    keys = [key for key in keys if key.reveal()]
    short = [index for index, key in enumerate(keys) if len(key.reveal()) < MIN_API_KEY_LENGTH]
    if short:
        raise ConfigError(
            f"lookup API key number {short[0] + 1} is shorter than {MIN_API_KEY_LENGTH} characters",
            hint="generate keys with e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`",
        )
    return ApiKeys(keys)


class JwtVerifier:
    """Checks RS256 JWTs against one public key (PEM), with ``exp`` required."""

    def __init__(
        self, public_key_pem: str, *, audience: str | None = None, issuer: str | None = None
    ) -> None:
        from cryptography.hazmat.primitives.serialization import load_pem_public_key

        try:
            self._key: Any = load_pem_public_key(public_key_pem.encode())
        except ValueError as exc:
            raise ConfigError(
                "the lookup JWT public key is not a PEM public key",
                hint="point jwt_public_key_file at the caller's RSA public key (-----BEGIN PUBLIC KEY-----)",
            ) from exc
        self._audience = audience
        self._issuer = issuer

    def allows(self, token: str) -> bool:
        """Whether ``token`` is a valid, unexpired RS256 JWT for this key (and audience/issuer)."""
        import jwt

        try:
            jwt.decode(
                token,
                self._key,
                algorithms=["RS256"],
                audience=self._audience,
                issuer=self._issuer,
                options={"require": ["exp"], "verify_aud": self._audience is not None},
            )
        except jwt.PyJWTError:
            return False
        return True


class CallerAuth:
    """Who may call the lookup endpoint: a configured API key, or a JWT ``jwt`` verifies."""

    def __init__(self, keys: ApiKeys, jwt: JwtVerifier | None = None) -> None:
        self.keys = keys
        self.jwt = jwt

    def __bool__(self) -> bool:
        return bool(self.keys) or self.jwt is not None

    def allows_headers(self, headers: Mapping[str, str]) -> bool:
        if self.keys.allows_headers(headers):
            return True
        scheme, _, credential = (headers.get("authorization") or "").partition(" ")
        credential = credential.strip()
        return (
            self.jwt is not None and scheme.lower() == "bearer" and credential.count(".") == 2
        ) and self.jwt.allows(credential)


def load_caller_auth(environ: Mapping[str, str] | None = None) -> CallerAuth:
    """API keys and the JWT verifier from ``FIELDLINE_LOOKUP_*`` / ``[lookup]``."""
    settings = adapter_settings("lookup", environ)
    verifier: JwtVerifier | None = None
    key_file = settings.get("jwt_public_key_file")
    if key_file:
        path = Path(str(key_file)).expanduser()
        try:
            pem = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(
                f"cannot read the lookup JWT public key {str(path)!r}: {exc.strerror}",
                hint="check FIELDLINE_LOOKUP_JWT_PUBLIC_KEY_FILE (or jwt_public_key_file under [lookup])",
            ) from exc
        verifier = JwtVerifier(
            pem,
            audience=str(settings["jwt_audience"]) if settings.get("jwt_audience") else None,
            issuer=str(settings["jwt_issuer"]) if settings.get("jwt_issuer") else None,
        )
    return CallerAuth(load_api_keys(environ), verifier)
