"""fieldline's own functions and normalizers, registered as an ordinary plugin."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from fieldline.expressions.compiled import JmespathFunction
from fieldline.expressions.functions import BUILTIN_FUNCTIONS
from fieldline.expressions.normalizers import BUILTIN_NORMALIZERS
from fieldline.plugins.hookspecs import hookimpl


@hookimpl
def register_functions() -> Sequence[JmespathFunction]:
    return BUILTIN_FUNCTIONS


@hookimpl
def register_normalizers() -> Mapping[str, Callable[[Any], Any]]:
    return BUILTIN_NORMALIZERS
