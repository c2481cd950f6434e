"""Connection settings for the PassFort adapter: environment/config first, spec options as defaults.

Credentials (``api_key``, ``webhook_secret``) only ever come from
:func:`fieldline.config.adapter_settings` (env ``FIELDLINE_PASSFORT_API_KEY``,
``FIELDLINE_PASSFORT_WEBHOOK_SECRET``, or the ``[passfort]`` table of the config file) and are
wrapped in :class:`~fieldline.config.Secret`. Connection settings (``base_url``, ``timeout``,
``max_retries``) may also be given as spec ``options``; the environment wins, so one spec runs
against the sandbox, the emulator and production unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fieldline.config import Secret, adapter_settings
from fieldline.errors import ConfigError

__all__ = ["DEFAULT_BASE_URL", "PassFortSettings", "load_settings"]

DEFAULT_BASE_URL = "https://api.passfort.com/4.0"
ADAPTER_NAME = "passfort"


@dataclass(frozen=True, slots=True)
class PassFortSettings:
    """Everything the client and webhook parser need. Secrets stay wrapped.

    ``backoff_base``/``backoff_cap`` shape the retry delays (seconds, exponential with jitter);
    ``max_retry_wait`` is the most one request waits in-process, all retries together: a longer
    wait (a ``Retry-After``, say) is handed to the caller as
    :class:`~fieldline.errors.TransientAdapterError.retry_after` instead, so a queue worker
    reschedules the job rather than blocking a thread (and a graceful shutdown).
    """

    api_key: Secret | None = None
    webhook_secret: Secret | None = None
    base_url: str = DEFAULT_BASE_URL
    timeout: float = 20.0
    max_retries: int = 4
    backoff_base: float = 0.5
    backoff_cap: float = 30.0
    max_retry_wait: float = 30.0


def _number(raw: Any, *, key: str, where: str, integer: bool = False) -> float:
    try:
        value = int(raw) if integer else float(raw)
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"{where}: passfort setting {key!r} must be a number, got {raw!r}",
            hint=f"set {key} to a {'whole ' if integer else ''}number",
        ) from exc
    if value < 0:
        raise ConfigError(f"{where}: passfort setting {key!r} must not be negative, got {raw!r}")
    return value


def load_settings(
    options: Mapping[str, Any] | None = None, *, environ: Mapping[str, str] | None = None
) -> PassFortSettings:
    """Settings from the environment/config file, falling back to spec ``options``.

    Raises :class:`~fieldline.errors.ConfigError` for a malformed value. Missing credentials are
    not an error here: the source reports them when (and only when) it needs them.
    """
    options = options or {}
    configured = adapter_settings(ADAPTER_NAME, environ)

    def pick(key: str) -> tuple[Any, str] | None:
        if configured.get(key) not in (None, ""):
            return configured[key], f"settings [{ADAPTER_NAME}] / FIELDLINE_PASSFORT_{key.upper()}"
        if options.get(key) is not None:
            return options[key], f"source.options.{key}"
        return None

    values: dict[str, Any] = {}
    for key in ("api_key", "webhook_secret"):
        raw = configured.get(key)
        if raw not in (None, ""):
            values[key] = Secret(str(raw))
    found = pick("base_url")
    if found is not None:
        base_url = str(found[0]).strip().rstrip("/")
        if not base_url.startswith(("http://", "https://")):
            raise ConfigError(
                f"{found[1]}: base_url {base_url!r} is not an http(s) URL",
                hint="e.g. https://api.passfort.com/4.0 or http://127.0.0.1:8101/4.0",
            )
        values["base_url"] = base_url
    for key in ("timeout", "backoff_base", "backoff_cap", "max_retry_wait"):
        found = pick(key)
        if found is not None:
            values[key] = _number(found[0], key=key, where=found[1])
    found = pick("max_retries")
    if found is not None:
        values["max_retries"] = int(_number(found[0], key="max_retries", where=found[1], integer=True))
    return PassFortSettings(**values)
