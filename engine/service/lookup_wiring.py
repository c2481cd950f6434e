"""Build the served specs' lookups and their callers' API keys for ``serve``."""

from __future__ import annotations

from collections.abc import Iterable

import pluggy

from fieldline.errors import ConfigError
from fieldline.lookups.auth import CallerAuth, load_caller_auth
from fieldline.lookups.directory import LookupDirectory, build_directory
from fieldline.spec.model import Spec

__all__ = ["open_lookups"]


def open_lookups(
    specs: Iterable[Spec], manager: pluggy.PluginManager
) -> tuple[LookupDirectory, CallerAuth] | None:
    """The lookups of ``specs`` with the configured API keys; ``None`` when no spec has one.

    Lookups without any API key configured would refuse every caller: that is a setup
    mistake, reported at start.
    """
    specs = list(specs)
    if not any(spec.lookups for spec in specs):
        return None
    keys = load_caller_auth()
    if not keys:
        names = ", ".join(sorted(name for spec in specs for name in spec.lookups))
        raise ConfigError(
            f"the specs declare lookups ({names}) but no caller API key (or JWT public key) is configured",
            hint="set FIELDLINE_LOOKUP_API_KEYS=key1,key2 (or api_keys under [lookup] in the config file)",
        )
    return build_directory(specs, manager), keys
