"""Connection settings and credentials: from the environment or a config file, never a spec.

Lookup order for adapter ``name`` and setting ``key`` (highest first):

1. the environment variable ``FIELDLINE_<NAME>_<KEY>`` (upper case, ``-`` as ``_``);
2. the ``[<name>]`` table of the config file named by ``FIELDLINE_CONFIG``, else
   ``./fieldline.toml``, else ``~/.config/fieldline/config.toml``.

Secrets read here are wrapped in :class:`Secret` so they never print in logs or errors.

The service's own operator token (for ``GET /status``) is read the same way, as the setting
``token`` of the name ``operator``: ``FIELDLINE_OPERATOR_TOKEN`` or ``[operator] token``.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fieldline.errors import ConfigError

__all__ = ["MIN_OPERATOR_TOKEN_LENGTH", "Secret", "adapter_settings", "config_file_path", "operator_token"]

MIN_OPERATOR_TOKEN_LENGTH = 16


class Secret:
    """A string that shows as ``'***'`` everywhere except :meth:`reveal`."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)


def config_file_path(environ: Mapping[str, str] | None = None) -> Path | None:
    """The config file in force, or ``None`` when there is none."""
    env = os.environ if environ is None else environ
    named = env.get("FIELDLINE_CONFIG")
    if named:
        path = Path(named)
        if not path.is_file():
            raise ConfigError(
                f"FIELDLINE_CONFIG names {named!r}, which is not a file",
                hint="point FIELDLINE_CONFIG at a TOML file or unset it",
            )
        return path
    for candidate in (Path("fieldline.toml"), Path.home() / ".config" / "fieldline" / "config.toml"):
        if candidate.is_file():
            return candidate
    return None


def adapter_settings(name: str, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Every setting for adapter ``name``: the config file's table overlaid by the environment.

    Keys come back lower-case (``instance_url``). Values from the environment are strings.
    """
    env = os.environ if environ is None else environ
    settings: dict[str, Any] = {}
    path = config_file_path(env)
    if path is not None:
        try:
            document = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"{path}: cannot read config file: {exc}") from exc
        table = document.get(name, {})
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: [{name}] must be a table")
        settings.update({str(key).lower(): value for key, value in table.items()})
    prefix = f"FIELDLINE_{name.upper().replace('-', '_')}_"
    for key, value in env.items():
        if key.startswith(prefix):
            settings[key[len(prefix) :].lower()] = value
    return settings


def operator_token(environ: Mapping[str, str] | None = None) -> Secret | None:
    """The operator token for the service's admin endpoints, or ``None`` when none is set."""
    value = adapter_settings("operator", environ).get("token")
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) < MIN_OPERATOR_TOKEN_LENGTH:
        raise ConfigError(
            f"the operator token (FIELDLINE_OPERATOR_TOKEN or [operator] token) must be a string of"
            f" at least {MIN_OPERATOR_TOKEN_LENGTH} characters",
            hint="use a random one: python -c 'import secrets; print(secrets.token_urlsafe(32))'",
        )
    return Secret(value)
