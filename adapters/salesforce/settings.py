"""Connection settings for the Salesforce target: login host, credentials, API version.

They come from :func:`fieldline.config.adapter_settings` (``FIELDLINE_SALESFORCE_*`` or the
``[salesforce]`` table of the config file), never from a spec. Every credential is held as a
:class:`~fieldline.config.Secret` so it cannot leak into logs or error messages.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from fieldline.config import Secret, adapter_settings
from fieldline.errors import ConfigError

__all__ = ["DEFAULT_API_VERSION", "AuthMethod", "SalesforceSettings", "load_settings"]

DEFAULT_API_VERSION = "59.0"
ENV_PREFIX = "FIELDLINE_SALESFORCE_"

_SECRET_KEYS = ("private_key", "client_secret", "refresh_token", "password", "security_token", "access_token")


class AuthMethod(enum.StrEnum):
    """How fieldline gets an access token."""

    JWT = "jwt"  # JWT bearer: username + consumer_key + private key (server-to-server)
    REFRESH_TOKEN = "refresh_token"  # client_id (+ client_secret) + refresh_token
    PASSWORD = "password"  # username-password(+security token) OAuth flow
    TOKEN = "token"  # a ready instance_url + access_token; cannot re-authenticate


@dataclass(frozen=True, slots=True)
class SalesforceSettings:
    """Where and how to connect. Build with :func:`load_settings` or directly in tests.

    ``domain`` is ``login`` (production), ``test`` (sandbox) or a My Domain prefix ending in
    ``.my`` (``acme.my``); ``my_domain`` (``acme`` or ``acme.my.salesforce.com``) wins over it.
    ``emulator_url`` points login *and* instance at a local emulator (``http://127.0.0.1:PORT``).
    """

    domain: str = "login"
    my_domain: str | None = None
    login_url_override: str | None = None
    emulator_url: str | None = None
    auth: AuthMethod | None = None
    username: str | None = None
    consumer_key: str | None = None
    private_key_file: str | None = None
    private_key: Secret | None = None
    client_id: str | None = None
    client_secret: Secret | None = None
    refresh_token: Secret | None = None
    password: Secret | None = None
    security_token: Secret | None = None
    instance_url: str | None = None
    access_token: Secret | None = None
    api_version: str = DEFAULT_API_VERSION
    timeout: float = 60.0

    @property
    def login_url(self) -> str:
        """The OAuth host: emulator, explicit URL, My Domain, or login/test.salesforce.com."""
        if self.emulator_url:
            return self.emulator_url.rstrip("/")
        if self.login_url_override:
            return self.login_url_override.rstrip("/")
        if self.my_domain:
            host = self.my_domain
            if "." not in host:
                host = f"{host}.my.salesforce.com"
            elif not host.endswith(".salesforce.com"):
                host = f"{host}.salesforce.com"
            return f"https://{host}"
        return f"https://{self.domain}.salesforce.com"

    @property
    def audience(self) -> str:
        """The JWT ``aud``: the test host for sandboxes, else the production login host."""
        if self.emulator_url:
            return self.emulator_url.rstrip("/")
        if self.domain == "test" or ".sandbox." in (self.my_domain or ""):
            return "https://test.salesforce.com"
        return "https://login.salesforce.com"

    @property
    def auth_method(self) -> AuthMethod:
        """The explicit ``auth`` setting, else the first flow whose credentials are all set."""
        if self.auth is not None:
            return self.auth
        if self.access_token and self.instance_url:
            return AuthMethod.TOKEN
        if self.username and self.consumer_key and (self.private_key or self.private_key_file):
            return AuthMethod.JWT
        if self.refresh_token and self.client_id:
            return AuthMethod.REFRESH_TOKEN
        if self.username and self.password:
            return AuthMethod.PASSWORD
        raise ConfigError(
            "no Salesforce credentials are configured",
            hint=(
                f"set {ENV_PREFIX}USERNAME, {ENV_PREFIX}CONSUMER_KEY and {ENV_PREFIX}PRIVATE_KEY_FILE "
                f"(JWT bearer), or {ENV_PREFIX}CLIENT_ID and {ENV_PREFIX}REFRESH_TOKEN, or "
                f"{ENV_PREFIX}USERNAME and {ENV_PREFIX}PASSWORD, or {ENV_PREFIX}INSTANCE_URL and "
                f"{ENV_PREFIX}ACCESS_TOKEN (or the [salesforce] table of the config file)"
            ),
        )

    def private_key_pem(self) -> str:
        """The JWT signing key, inline or read from ``private_key_file``."""
        if self.private_key:
            return self.private_key.reveal()
        if not self.private_key_file:
            raise ConfigError(
                "JWT bearer auth needs a private key",
                hint=f"set {ENV_PREFIX}PRIVATE_KEY_FILE to the connected app's key (PEM)",
            )
        path = Path(self.private_key_file).expanduser()
        try:
            return path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(
                f"cannot read the Salesforce private key file {str(path)!r}: {exc.strerror}",
                hint=f"check {ENV_PREFIX}PRIVATE_KEY_FILE",
            ) from exc

    def with_api_version(self, api_version: str | None) -> SalesforceSettings:
        """A copy using ``api_version`` (from spec options) when given."""
        if not api_version:
            return self
        return replace(self, api_version=normalize_api_version(api_version))


def normalize_api_version(value: Any) -> str:
    """``59``, ``'v59.0'`` and ``59.0`` all become ``'59.0'``."""
    text = str(value).strip().lstrip("vV")
    try:
        number = float(text)
    except ValueError as exc:
        raise ConfigError(
            f"Salesforce api_version {value!r} is not a version number", hint="use e.g. 59.0"
        ) from exc
    return f"{number:.1f}"


def _text(raw: Mapping[str, Any], key: str) -> str | None:
    value = raw.get(key)
    if value is None or value == "":
        return None
    return str(value)


def _secret(raw: Mapping[str, Any], key: str) -> Secret | None:
    value = raw.get(key)
    if value is None or value == "":
        return None
    return value if isinstance(value, Secret) else Secret(str(value))


def settings_from_mapping(raw: Mapping[str, Any]) -> SalesforceSettings:
    """Settings from a flat mapping of lower-case keys (the config table / environment)."""
    known = {
        "domain",
        "my_domain",
        "login_url",
        "emulator_url",
        "auth",
        "username",
        "consumer_key",
        "private_key_file",
        "client_id",
        "instance_url",
        "api_version",
        "timeout",
        *_SECRET_KEYS,
    }
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ConfigError(
            f"unknown Salesforce setting(s): {', '.join(unknown)}",
            hint=f"known settings: {', '.join(sorted(known))}",
        )
    auth_text = _text(raw, "auth")
    auth: AuthMethod | None = None
    if auth_text is not None:
        try:
            auth = AuthMethod(auth_text.lower())
        except ValueError as exc:
            raise ConfigError(
                f"unknown Salesforce auth method {auth_text!r}",
                hint=f"use one of {', '.join(method.value for method in AuthMethod)}",
            ) from exc
    timeout_text = _text(raw, "timeout")
    try:
        timeout = float(timeout_text) if timeout_text is not None else 60.0
    except ValueError as exc:
        raise ConfigError(f"Salesforce timeout {timeout_text!r} is not a number of seconds") from exc
    domain = (_text(raw, "domain") or "login").removesuffix(".salesforce.com")
    return SalesforceSettings(
        domain=domain,
        my_domain=_text(raw, "my_domain"),
        login_url_override=_text(raw, "login_url"),
        emulator_url=_text(raw, "emulator_url"),
        auth=auth,
        username=_text(raw, "username"),
        consumer_key=_text(raw, "consumer_key"),
        private_key_file=_text(raw, "private_key_file"),
        private_key=_secret(raw, "private_key"),
        client_id=_text(raw, "client_id"),
        client_secret=_secret(raw, "client_secret"),
        refresh_token=_secret(raw, "refresh_token"),
        password=_secret(raw, "password"),
        security_token=_secret(raw, "security_token"),
        instance_url=_text(raw, "instance_url"),
        access_token=_secret(raw, "access_token"),
        api_version=normalize_api_version(raw.get("api_version") or DEFAULT_API_VERSION),
        timeout=timeout,
    )


def load_settings(environ: Mapping[str, str] | None = None) -> SalesforceSettings:
    """Settings from ``FIELDLINE_SALESFORCE_*`` and the config file's ``[salesforce]`` table."""
    return settings_from_mapping(adapter_settings("salesforce", environ))
