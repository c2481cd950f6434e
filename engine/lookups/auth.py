"""Caller credentials for the lookup endpoint: API keys compared in constant time.

Keys come from ``FIELDLINE_LOOKUP_API_KEYS`` (comma-separated) or ``api_keys`` (a list) in the
config file's ``[lookup]`` table. Callers send one as ``Authorization: Bearer KEY`` or
``X-API-Key: KEY``. Every configured key is compared, whatever matches first, so the time taken
does not say which key (or how much of one) was right.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping, Sequence

from fieldline.config import Secret, adapter_settings
from fieldline.errors import ConfigError

__all__ = ["MIN_API_KEY_LENGTH", "ApiKeys", "load_api_keys"]

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
