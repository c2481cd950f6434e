"""The functions an expression may call: JMESPath's own and the plugins' extras.

:data:`JMESPATH_BUILTINS` implements JMESPath's functions with jmespath.py's semantics (checked
by the compliance suite); :class:`FunctionRegistry` adds the plugins' functions and adapts them
all to jmespath's own tree interpreter, the reference implementation for tests and benchmarks.

Re-exported by :mod:`fieldline.expressions.compiled`; import the public names from there.
"""

from __future__ import annotations

import difflib
import json
import math
from collections.abc import Callable, Sequence
from typing import Any

from jmespath import exceptions as jmespath_exceptions, functions as jmespath_functions
from jmespath.visitor import Options, TreeInterpreter

from fieldline.errors import ConfigError, EvaluationError
from fieldline.expressions.function_types import (
    ArgCheck,
    Expref,
    JmespathFunction,
    jmespath_type,
    short,
    type_words,
)

__all__ = ["JMESPATH_BUILTINS", "FunctionRegistry"]


# --------------------------------------------------------------------------------------------
# JMESPath's own functions, with jmespath.py's semantics (checked by the compliance suite)
# --------------------------------------------------------------------------------------------


def _avg(values: list[Any]) -> Any:
    return sum(values) / len(values) if values else None


def _not_null(*values: Any) -> Any:
    for value in values:
        if value is not None:
            return value
    return None


def _to_string(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"), default=str)


def _to_number(value: Any) -> Any:
    if value is None or isinstance(value, (list, dict, bool)):
        return None
    if isinstance(value, (int, float)):
        return value
    try:
        return int(value)
    except ValueError:
        try:
            return float(value)
        except ValueError:
            return None


def _merge(*objects: dict[str, Any]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for item in objects:
        merged.update(item)
    return merged


def _type(value: Any) -> str:
    return jmespath_type(value)


def _key_function(function: str, expref: Expref, allowed: tuple[str, ...]) -> Callable[[Any], Any]:
    def key(item: Any) -> Any:
        result = expref.evaluate(item)
        actual = jmespath_type(result)
        if actual not in allowed:
            raise EvaluationError(
                f"{function}() expression must give {type_words(allowed)} for every element, "
                f"got {actual}: {short(result)}",
                reason="invalid-type",
                function=function,
            )
        return result

    return key


def _sort_by(values: list[Any], expref: Expref) -> list[Any]:
    if not values:
        return values
    first = jmespath_type(expref.evaluate(values[0]))
    if first not in ("number", "string"):
        raise EvaluationError(
            f"sort_by() expression must give a number or a string, got {first}",
            reason="invalid-type",
            function="sort_by",
        )
    return sorted(values, key=_key_function("sort_by", expref, (first,)))


def _min_by(values: list[Any], expref: Expref) -> Any:
    return min(values, key=_key_function("min_by", expref, ("number", "string"))) if values else None


def _max_by(values: list[Any], expref: Expref) -> Any:
    return max(values, key=_key_function("max_by", expref, ("number", "string"))) if values else None


def _map(expref: Expref, values: list[Any]) -> list[Any]:
    evaluate = expref.evaluate
    return [evaluate(value) for value in values]


def _jp(
    name: str, func: Callable[..., Any], *signature: tuple[str, ...], variadic: bool = False
) -> JmespathFunction:
    return JmespathFunction(name, func, signature, variadic=variadic, doc="JMESPath built-in.")


JMESPATH_BUILTINS: dict[str, JmespathFunction] = {
    function.name: function
    for function in (
        _jp("abs", abs, ("number",)),
        _jp("avg", _avg, ("array-number",)),
        _jp("ceil", math.ceil, ("number",)),
        _jp("contains", lambda subject, search: search in subject, ("array", "string"), ("any",)),
        _jp("ends_with", lambda subject, suffix: subject.endswith(suffix), ("string",), ("string",)),
        _jp("floor", math.floor, ("number",)),
        _jp("join", lambda separator, values: separator.join(values), ("string",), ("array-string",)),
        _jp("keys", lambda value: list(value.keys()), ("object",)),
        _jp("length", len, ("string", "array", "object")),
        _jp("map", _map, ("expref",), ("array",)),
        _jp("max", lambda values: max(values) if values else None, ("array-number", "array-string")),
        _jp("max_by", _max_by, ("array",), ("expref",)),
        _jp("merge", _merge, ("object",), variadic=True),
        _jp("min", lambda values: min(values) if values else None, ("array-number", "array-string")),
        _jp("min_by", _min_by, ("array",), ("expref",)),
        _jp("not_null", _not_null, ("any",), variadic=True),
        _jp("reverse", lambda value: value[::-1], ("array", "string")),
        _jp("sort", sorted, ("array-string", "array-number")),
        _jp("sort_by", _sort_by, ("array",), ("expref",)),
        _jp("starts_with", lambda subject, prefix: subject.startswith(prefix), ("string",), ("string",)),
        _jp("sum", sum, ("array-number",)),
        _jp("to_array", lambda value: value if isinstance(value, list) else [value], ("any",)),
        _jp("to_number", _to_number, ("any",)),
        _jp("to_string", _to_string, ("any",)),
        _jp("type", _type, ("any",)),
        _jp("values", lambda value: list(value.values()), ("object",)),
    )
}


# --------------------------------------------------------------------------------------------
# The registry
# --------------------------------------------------------------------------------------------


class FunctionRegistry:
    """The functions one spec may call: JMESPath's built-ins and the plugins' extras.

    ``options`` and ``interpreter`` are the same functions for jmespath's own tree interpreter
    (a reference implementation for tests and benchmarks); fieldline evaluates with compiled
    closures instead.
    """

    def __init__(self, functions: Sequence[JmespathFunction] = ()) -> None:
        self._functions = {function.name: function for function in functions}
        shadowing = sorted(set(self._functions) & set(JMESPATH_BUILTINS))
        if shadowing:
            # A plugin silently changing what ``length()`` means would break every spec.
            raise ConfigError(
                f"plugin functions may not replace JMESPath built-ins: {', '.join(shadowing)}",
                hint="rename the plugin's function",
            )
        self._all: dict[str, JmespathFunction] = {**JMESPATH_BUILTINS, **self._functions}
        self._names = frozenset(self._all)
        self.options = Options(custom_functions=_build_functions_class(self._functions)())
        self.interpreter = TreeInterpreter(self.options)

    @property
    def names(self) -> frozenset[str]:
        """Every callable name: JMESPath's built-ins and ours."""
        return self._names

    @property
    def extra_names(self) -> frozenset[str]:
        """The names the plugins contributed (not JMESPath's own)."""
        return frozenset(self._functions)

    def __contains__(self, name: object) -> bool:
        return name in self._names

    def get(self, name: str) -> JmespathFunction | None:
        """The plugin function ``name`` (``None`` for JMESPath built-ins and unknown names)."""
        return self._functions.get(name)

    def lookup(self, name: str) -> JmespathFunction | None:
        """Any callable function by name, built-in or extra."""
        return self._all.get(name)

    def suggest(self, name: str) -> str | None:
        """The known name closest to ``name`` (for 'did you mean' hints)."""
        matches = difflib.get_close_matches(name, sorted(self._names), n=1, cutoff=0.6)
        return matches[0] if matches else None


def _build_functions_class(functions: dict[str, JmespathFunction]) -> type:
    namespace: dict[str, Any] = {}
    for function in functions.values():
        namespace[f"_func_{function.name}"] = _wrap(function)
    return type("FieldlineFunctions", (jmespath_functions.Functions,), namespace)


def _wrap(function: JmespathFunction) -> Any:
    """``function`` as a jmespath ``Functions`` method (for the reference interpreter)."""
    checks = [ArgCheck.build(types) for types in function.signature]

    def method(self: Any, *args: Any) -> Any:
        high = function.max_args
        if high is not None and len(args) > high:
            raise jmespath_exceptions.ArityError(high, len(args), function.name)
        resolved = [_as_expref(value) for value in args]
        for index, value in enumerate(resolved):
            checks[min(index, len(checks) - 1)].check(function.name, index + 1, value)
        return function.func(*resolved)

    # jmespath checks arity itself; types we check above ('any' and optional arguments are
    # beyond its signature language). Optional arguments: the required ones, last one variadic.
    specs: list[dict[str, Any]] = [{"types": []} for _ in range(max(function.min_args, 1))]
    if function.variadic or function.optional:
        specs[-1]["variadic"] = True
    if not function.signature:
        specs = []
    return jmespath_functions.signature(*specs)(method)  # type: ignore[arg-type]  # stubs want TypedDicts


def _as_expref(value: Any) -> Any:
    """jmespath's own ``_Expression`` as an :class:`Expref` (plugins see one kind only)."""
    if type(value).__name__ != "_Expression":
        return value
    return Expref(value.expression, lambda item: value.visit(value.expression, item))
