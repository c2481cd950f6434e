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

import logging
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fieldline.errors import ConfigError

__all__ = ["MIN_OPERATOR_TOKEN_LENGTH", "Secret", "adapter_settings", "config_file_path", "operator_token"]

MIN_OPERATOR_TOKEN_LENGTH = 16

logger = logging.getLogger("fieldline.config")


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
    """The config file in force, or ``None`` when there is none.

    A file named by ``FIELDLINE_CONFIG`` must be there; a default location that cannot be looked
    at (a directory the user may not enter) is skipped with a warning.
    """
    env = os.environ if environ is None else environ
    named = env.get("FIELDLINE_CONFIG")
    if named:
        path = Path(named)
        try:
            found = path.is_file()
        except OSError as exc:
            raise _explicit_unreadable(path, exc) from exc
        if not found:
            raise ConfigError(
                f"FIELDLINE_CONFIG names {named!r}, which is not a file",
                hint="point FIELDLINE_CONFIG at a TOML file or unset it",
            )
        return path
    for candidate in _default_locations():
        try:
            if candidate.is_file():
                return candidate
        except OSError as exc:
            _skip_default(candidate, exc)
    return None


def _default_locations() -> tuple[Path, ...]:
    return (Path("fieldline.toml"), Path.home() / ".config" / "fieldline" / "config.toml")


def _explicit_unreadable(path: Path, exc: OSError) -> ConfigError:
    return ConfigError(
        f"{path}: cannot read config file: {exc.strerror or exc}",
        hint="make the file readable by this user, or point FIELDLINE_CONFIG at another file",
    )


def _skip_default(path: Path, exc: OSError) -> None:
    # Another user's or a locked-down home: settings may still come from the environment.
    logger.warning(
        "%s: config file skipped, cannot read it (%s); set FIELDLINE_CONFIG to use another file",
        path,
        exc.strerror or exc,
    )


def _read_document(env: Mapping[str, str]) -> tuple[Path, dict[str, Any]] | None:
    """The config file in force and its parsed TOML; an unreadable default file is skipped."""
    if env.get("FIELDLINE_CONFIG"):
        path = config_file_path(env)
        assert path is not None  # a named file is there or config_file_path raised
        try:
            return path, _parse(path, path.read_bytes())
        except OSError as exc:
            raise _explicit_unreadable(path, exc) from exc
    for candidate in _default_locations():
        try:
            if not candidate.is_file():
                continue
            data = candidate.read_bytes()
        except OSError as exc:
            _skip_default(candidate, exc)
            continue
        return candidate, _parse(candidate, data)
    return None


def _parse(path: Path, data: bytes) -> dict[str, Any]:
    try:
        return tomllib.loads(data.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"{path}: cannot read config file: {exc}", hint="fix the TOML syntax (UTF-8 text)"
        ) from exc


def adapter_settings(name: str, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Every setting for adapter ``name``: the config file's table overlaid by the environment.

    Keys come back lower-case (``instance_url``). Values from the environment are strings.
    """
    env = os.environ if environ is None else environ
    settings: dict[str, Any] = {}
    loaded = _read_document(env)
    if loaded is not None:
        path, document = loaded
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
