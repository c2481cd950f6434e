"""fieldline's own functions and normalizers, registered as an ordinary plugin."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from fieldline.expressions import JmespathFunction
from fieldline.functions import BUILTIN_FUNCTIONS
from fieldline.hookspecs import hookimpl
from fieldline.normalizers import BUILTIN_NORMALIZERS


@hookimpl
def register_functions() -> Sequence[JmespathFunction]:
    return BUILTIN_FUNCTIONS


@hookimpl
def register_normalizers() -> Mapping[str, Callable[[Any], Any]]:
    return BUILTIN_NORMALIZERS
