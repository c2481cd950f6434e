"""Assertions more than one conformance suite makes."""

from __future__ import annotations

from collections.abc import Callable

from fieldline.errors import ConfigError

__all__ = ["expect_config_error"]


def expect_config_error(check: Callable[[], object], what: str) -> None:
    """Fail unless ``check()`` raises a ``ConfigError`` whose message says what to set."""
    try:
        check()
    except ConfigError as exc:
        message = str(exc)
    else:
        raise AssertionError(f"{what} must raise ConfigError")
    assert message, f"{what}: the ConfigError needs a message saying what to set"
