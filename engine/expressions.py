"""JMESPath expressions: compile once at spec load, evaluate many times.

Public surface (kept stable for the loader, validator and planner):

- :class:`FunctionRegistry` - JMESPath's functions plus the extras from ``register_functions``.
- :class:`JmespathFunction` - one function: name, callable, per-argument JMESPath types.
- :func:`compile_expression` - parse text into a :class:`CompiledExpression` or raise a located
  :class:`~fieldline.errors.ExpressionError` (syntax errors, unknown functions, wrong arity).
- ``CompiledExpression.search(doc)`` - JMESPath semantics (missing and null both give ``None``).
- ``CompiledExpression.search_or_missing(doc)`` - the same, but ``MISSING`` when a plain field
  path names a key the document does not have, so the planner can tell "absent" from "null".
- :func:`document_scope` - binds the whole source document for ``root()`` while a ``for_each``
  element is being evaluated; :func:`current_root` reads it (for functions such as ``root()``).

Evaluation does not walk the jmespath AST per document: nested closures are built once per
expression (``_Compiler``), and multiselects of plain paths become one generated function.
That is about 10x faster than ``TreeInterpreter.visit`` and gives the same results on the
whole JMESPath compliance suite (``tests/expressions/test_compliance.py``).
"""

from __future__ import annotations

import ast as python_ast
import contextvars
import difflib
import itertools
import json
import math
import re
import warnings
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from numbers import Number
from typing import Any

import jmespath
from jmespath import exceptions as jmespath_exceptions
from jmespath import functions as jmespath_functions
from jmespath.lexer import Lexer
from jmespath.visitor import Options, TreeInterpreter

from fieldline.errors import ConfigError, EvaluationError, ExpressionError, FieldlineError
from fieldline.values import MISSING

__all__ = [
    "CompiledExpression",
    "Expref",
    "FunctionRegistry",
    "JmespathFunction",
    "compile_expression",
    "current_root",
    "document_scope",
    "jmespath_type",
]

Evaluator = Callable[[Any], Any]

_UNSET: Any = object()
_current_document: contextvars.ContextVar[Any] = contextvars.ContextVar("fieldline_document")
# The document handed to ``search`` - what ``root()`` returns outside a ``document_scope``.
_search_root: contextvars.ContextVar[Any] = contextvars.ContextVar("fieldline_search_root")


@contextmanager
def document_scope(document: Any) -> Iterator[None]:
    """Make ``root()`` return ``document`` while evaluating inside a ``for_each`` element."""
    token = _current_document.set(document)
    try:
        yield
    finally:
        _current_document.reset(token)


def current_root() -> Any:
    """The document bound by :func:`document_scope`, else the one being searched (else ``None``)."""
    document = _current_document.get(_UNSET)
    if document is _UNSET:
        document = _search_root.get(None)
    return document


@dataclass(frozen=True, slots=True)
class JmespathFunction:
    """A JMESPath function: one of JMESPath's own or an extra one contributed by a plugin.

    ``signature`` lists, per argument, the JMESPath type names accepted (``string``, ``number``,
    ``array``, ``object``, ``boolean``, ``null``, ``expref``, ``any``, and typed arrays such as
    ``array-string``). ``variadic`` makes the last argument repeatable. ``optional`` is how many
    trailing arguments may be left out (JEP-14 style, e.g. ``trim(s[, chars])``).
    ``needs_root`` asks ``CompiledExpression.search`` to bind the searched document for
    :func:`current_root` (only ``root()`` needs it; binding costs a little per search).
    """

    name: str
    func: Callable[..., Any]
    signature: tuple[tuple[str, ...], ...]
    variadic: bool = False
    doc: str = ""
    optional: int = 0
    needs_root: bool = False

    def __post_init__(self) -> None:
        if not 0 <= self.optional <= len(self.signature) or (self.optional and self.variadic):
            raise ConfigError(
                f"JMESPath function {self.name!r}: optional={self.optional} does not fit its "
                f"{len(self.signature)}-argument signature",
                hint="optional counts trailing arguments and cannot be combined with variadic",
            )
        if self.variadic and not self.signature:
            raise ConfigError(
                f"JMESPath function {self.name!r} is variadic but has no argument to repeat",
                hint="give the repeated argument's types in signature",
            )

    @property
    def min_args(self) -> int:
        """The fewest arguments a call may pass."""
        return len(self.signature) - self.optional

    @property
    def max_args(self) -> int | None:
        """The most arguments a call may pass; ``None`` for variadic functions."""
        return None if self.variadic else len(self.signature)

    def usage(self) -> str:
        """``split(string|null, string[, number])``: the call shape, for hints."""
        parts = ["|".join(types) for types in self.signature]
        required = ", ".join(parts[: self.min_args])
        optional = "".join(f"[, {part}" for part in parts[self.min_args :]) + "]" * self.optional
        if not required and optional:
            optional = "[" + optional.removeprefix("[, ")  # f([a]) rather than f([, a])
        more = ", ..." if self.variadic else ""
        return f"{self.name}({required}{optional}{more})"

    def arity_text(self) -> str:
        """``1 argument``, ``1 to 3 arguments``, ``at least 1 argument``."""
        low, high = self.min_args, self.max_args
        noun = "argument" if (high if high is not None else low) == 1 else "arguments"
        if high is None:
            return f"at least {low} {noun}"
        if low == high:
            return f"{low} {noun}"
        return f"{low} to {high} {noun}"


class Expref:
    """The value of ``&expression``: a function argument that evaluates an expression later.

    Call it with a value. ``expression`` and ``visit`` mirror jmespath's own ``_Expression``, so
    functions written for ``jmespath.functions`` work unchanged.
    """

    __slots__ = ("evaluate", "expression")

    def __init__(self, expression: Any, evaluate: Evaluator) -> None:
        self.expression = expression
        self.evaluate = evaluate

    def __call__(self, value: Any) -> Any:
        return self.evaluate(value)

    def visit(self, node: Any, value: Any) -> Any:
        """Evaluate against ``value`` (``node`` is ignored: it is always ``self.expression``)."""
        return self.evaluate(value)


# --------------------------------------------------------------------------------------------
# JMESPath types and argument checks
# --------------------------------------------------------------------------------------------

_NONE_TYPE = type(None)
_TYPE_OF: dict[type, str] = {
    str: "string",
    bool: "boolean",
    int: "number",
    float: "number",
    list: "array",
    dict: "object",
    OrderedDict: "object",
    _NONE_TYPE: "null",
    Expref: "expref",
}


def jmespath_type(value: Any) -> str:
    """The JMESPath type name of a Python value (``unknown`` for anything JSON cannot hold)."""
    name = _TYPE_OF.get(type(value))
    if name is not None:
        return name
    # Subclasses (a YAML loader's maps, IntEnum, ...): classify by the nearest JSON type.
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Number):
        return "number"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, Expref):
        return "expref"
    return "unknown"


def _short(value: Any) -> str:
    try:
        text = json.dumps(value, default=str)
    except ValueError:
        text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


@dataclass(frozen=True, slots=True)
class _ArgCheck:
    """What one argument position accepts, precomputed for fast checks."""

    types: tuple[str, ...]
    fast: frozenset[type]  # exact Python types accepted without a closer look
    any: bool

    @classmethod
    def build(cls, types: tuple[str, ...]) -> _ArgCheck:
        if not types or "any" in types:
            return cls(types, frozenset(), True)
        fast: set[type] = set()
        for name in types:
            if name in ("array-number", "array-string"):
                continue  # element types need a look at the elements
            fast.update(t for t, jtype in _TYPE_OF.items() if jtype == name)
        return cls(types, frozenset(fast), False)

    def check(self, function: str, position: int, value: Any) -> None:
        if self.any or type(value) in self.fast:
            return
        actual = jmespath_type(value)
        if actual in self.types:
            return
        if actual == "array":
            element_types = [name.split("-", 1)[1] for name in self.types if name.startswith("array-")]
            if element_types and self._elements_match(value, element_types):
                return
            if element_types:
                raise EvaluationError(
                    f"{function}() argument {position} must be {_type_words(self.types)}, "
                    f"got an array with other elements: {_short(value)}",
                    reason="invalid-type",
                    function=function,
                )
        raise EvaluationError(
            f"{function}() argument {position} must be {_type_words(self.types)}, "
            f"got {actual}: {_short(value)}",
            reason="invalid-type",
            function=function,
        )

    @staticmethod
    def _elements_match(values: list[Any], element_types: list[str]) -> bool:
        # As jmespath: with one element type every element must have it; with several
        # (``array-number`` or ``array-string``) the first element decides for all.
        if not values:
            return True
        if len(element_types) == 1:
            wanted = element_types[0]
        else:
            wanted = jmespath_type(values[0])
            if wanted not in element_types:
                return False
        return all(jmespath_type(value) == wanted for value in values)


def _type_words(types: tuple[str, ...]) -> str:
    words = [
        name.replace("array-", "an array of ") + ("s" if name.startswith("array-") else "") for name in types
    ]
    words = [word if word.startswith("an array") else _article(word) for word in words]
    return " or ".join(words)


def _article(name: str) -> str:
    return {"null": "null", "expref": "an &expression", "array": "an array", "object": "an object"}.get(
        name, f"a {name}"
    )


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
                f"{function}() expression must give {_type_words(allowed)} for every element, "
                f"got {actual}: {_short(result)}",
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
    checks = [_ArgCheck.build(types) for types in function.signature]

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


# --------------------------------------------------------------------------------------------
# Compiling the AST into closures
# --------------------------------------------------------------------------------------------


def _is_false(value: Any) -> bool:
    # JMESPath false-like values: null, false, "", [], {} (not 0).
    return value is None or value is False or (isinstance(value, (str, list, dict)) and not value)


def _equals(left: Any, right: Any) -> bool:
    # As jmespath: 0/1 never equal false/true (Python says they do).
    if (type(left) is bool) is not (type(right) is bool) and (
        _is_actual_number(left) or _is_actual_number(right)
    ):
        return False
    return bool(left == right)


def _is_actual_number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, Number)


def _comparable(value: Any) -> str | None:
    kind = type(value)
    if kind is int or kind is float:
        return "number"
    if kind is str:
        return "string"
    if isinstance(value, str):
        return "string"
    if _is_actual_number(value):
        return "number"
    return None


_ORDERING: dict[str, Callable[[Any, Any], bool]] = {
    "lt": lambda a, b: bool(a < b),
    "lte": lambda a, b: bool(a <= b),
    "gt": lambda a, b: bool(a > b),
    "gte": lambda a, b: bool(a >= b),
}


class _Compiler:
    """Turns one parsed expression into a tree of closures, once."""

    def __init__(self, registry: FunctionRegistry) -> None:
        self.registry = registry
        self.needs_root = False  # a function reads current_root(): bind the searched document
        self.may_raise = False  # a function or a zero-step slice can raise EvaluationError

    def compile(self, node: dict[str, Any]) -> Evaluator:
        method: Callable[[dict[str, Any]], Evaluator] = getattr(self, f"_{node['type']}")
        return method(node)

    # -- paths -------------------------------------------------------------------------------

    def _field(self, node: dict[str, Any]) -> Evaluator:
        return _field_path((node["value"],))

    def _subexpression(self, node: dict[str, Any]) -> Evaluator:
        keys = _plain_path(node)
        if keys is not None:
            return _field_path(tuple(keys))
        return _chain([self.compile(child) for child in node["children"]])

    def _index_expression(self, node: dict[str, Any]) -> Evaluator:
        return _chain([self.compile(child) for child in node["children"]])

    def _pipe(self, node: dict[str, Any]) -> Evaluator:
        return _chain([self.compile(child) for child in node["children"]])

    def _index(self, node: dict[str, Any]) -> Evaluator:
        position: int = node["value"]

        def index(value: Any) -> Any:
            if not isinstance(value, list):
                return None
            try:
                return value[position]
            except IndexError:
                return None

        return index

    def _slice(self, node: dict[str, Any]) -> Evaluator:
        start, stop, step = node["children"]
        if step == 0:
            self.may_raise = True

            def zero_step(value: Any) -> Any:
                if not isinstance(value, list):
                    return None
                raise EvaluationError("a slice step cannot be 0", reason="invalid-value")

            return zero_step
        window = slice(start, stop, step)

        def sliced(value: Any) -> Any:
            return value[window] if isinstance(value, list) else None

        return sliced

    def _current(self, node: dict[str, Any]) -> Evaluator:
        return _identity

    _identity = _current

    def _literal(self, node: dict[str, Any]) -> Evaluator:
        constant = node["value"]
        return lambda value: constant

    # -- projections -------------------------------------------------------------------------

    def _projection(self, node: dict[str, Any]) -> Evaluator:
        left = self.compile(node["children"][0])
        right_node = node["children"][1]
        if right_node["type"] == "identity":

            def project_all(value: Any) -> Any:
                base = left(value)
                if not isinstance(base, list):
                    return None
                return [item for item in base if item is not None]

            return project_all
        right = self.compile(right_node)

        def project(value: Any) -> Any:
            base = left(value)
            if not isinstance(base, list):
                return None
            return [result for item in base if (result := right(item)) is not None]

        return project

    def _value_projection(self, node: dict[str, Any]) -> Evaluator:
        left = self.compile(node["children"][0])
        right = self.compile(node["children"][1])

        def project_values(value: Any) -> Any:
            base = left(value)
            try:
                items = base.values()
            except AttributeError:
                return None
            return [result for item in items if (result := right(item)) is not None]

        return project_values

    def _filter_projection(self, node: dict[str, Any]) -> Evaluator:
        left = self.compile(node["children"][0])
        right = self.compile(node["children"][1])
        condition = self.compile(node["children"][2])

        def project_filtered(value: Any) -> Any:
            base = left(value)
            if not isinstance(base, list):
                return None
            return [
                result
                for item in base
                if not _is_false(condition(item)) and (result := right(item)) is not None
            ]

        return project_filtered

    def _flatten(self, node: dict[str, Any]) -> Evaluator:
        left = self.compile(node["children"][0])

        def flatten(value: Any) -> Any:
            base = left(value)
            if not isinstance(base, list):
                return None
            merged: list[Any] = []
            for item in base:
                if isinstance(item, list):
                    merged.extend(item)
                else:
                    merged.append(item)
            return merged

        return flatten

    # -- multi-selects -----------------------------------------------------------------------

    def _multi_select_list(self, node: dict[str, Any]) -> Evaluator:
        parts = tuple(self.compile(child) for child in node["children"])

        def select_list(value: Any) -> Any:
            if value is None:
                return None
            return [part(value) for part in parts]

        paths = [_plain_path(child) for child in node["children"]]
        if all(path is not None for path in paths):
            return _generated_select(paths, None, select_list)
        return select_list

    def _multi_select_dict(self, node: dict[str, Any]) -> Evaluator:
        pairs = [(child["value"], child["children"][0]) for child in node["children"]]
        compiled = tuple((key, self.compile(child)) for key, child in pairs)

        def select_dict(value: Any) -> Any:
            if value is None:
                return None
            return {key: part(value) for key, part in compiled}

        paths = [_plain_path(child) for _, child in pairs]
        if all(path is not None for path in paths):
            return _generated_select(paths, [key for key, _ in pairs], select_dict)
        return select_dict

    def _key_val_pair(self, node: dict[str, Any]) -> Evaluator:
        return self.compile(node["children"][0])

    # -- logic -------------------------------------------------------------------------------

    def _comparator(self, node: dict[str, Any]) -> Evaluator:
        operator: str = node["value"]
        left = self.compile(node["children"][0])
        right = self.compile(node["children"][1])
        constant = node["children"][1]
        if operator in ("eq", "ne") and constant["type"] == "literal" and type(constant["value"]) is str:
            # status == 'APPROVED': with a string on one side the 0/1-vs-bool rule cannot apply.
            text: str = constant["value"]
            if operator == "eq":
                return lambda value: bool(left(value) == text)
            return lambda value: bool(left(value) != text)
        if operator == "eq":
            return lambda value: _equals(left(value), right(value))
        if operator == "ne":
            return lambda value: not _equals(left(value), right(value))
        ordering = _ORDERING[operator]

        def compare(value: Any) -> Any:
            first = left(value)
            second = right(value)
            kind = _comparable(first)
            # Ordering is defined for two numbers or two strings; anything else is null.
            if kind is None or kind != _comparable(second):
                return None
            return ordering(first, second)

        return compare

    def _or_expression(self, node: dict[str, Any]) -> Evaluator:
        left = self.compile(node["children"][0])
        right = self.compile(node["children"][1])

        def either(value: Any) -> Any:
            matched = left(value)
            return right(value) if _is_false(matched) else matched

        return either

    def _and_expression(self, node: dict[str, Any]) -> Evaluator:
        left = self.compile(node["children"][0])
        right = self.compile(node["children"][1])

        def both(value: Any) -> Any:
            matched = left(value)
            return matched if _is_false(matched) else right(value)

        return both

    def _not_expression(self, node: dict[str, Any]) -> Evaluator:
        inner = self.compile(node["children"][0])

        def negate(value: Any) -> Any:
            result = inner(value)
            if _is_actual_number(result) and result == 0:
                return False  # JMESPath: 0 is truthy, so !0 is false
            return not result

        return negate

    # -- functions ---------------------------------------------------------------------------

    def _expref(self, node: dict[str, Any]) -> Evaluator:
        expression = node["children"][0]
        evaluate = self.compile(expression)
        reference = Expref(expression, evaluate)
        return lambda value: reference

    def _function_expression(self, node: dict[str, Any]) -> Evaluator:
        name: str = node["value"]
        function = self.registry.lookup(name)
        if function is None:  # compile_expression checks names first; kept for direct callers
            raise EvaluationError(f"unknown function '{name}()'", reason="unknown-function")
        self.may_raise = True
        if function.needs_root:
            self.needs_root = True
        arguments = tuple(self.compile(child) for child in node["children"])
        return _call(function, arguments)


def _identity(value: Any) -> Any:
    return value


def _chain(steps: list[Evaluator]) -> Evaluator:
    if len(steps) == 1:
        return steps[0]
    if len(steps) == 2:  # the common a.b[0] / a | b shapes
        first, second = steps
        return lambda value: second(first(value))

    def chained(value: Any) -> Any:
        for step in steps:
            value = step(value)
        return value

    return chained


def _field_path(keys: tuple[str, ...]) -> Evaluator:
    """``a``, ``a.b``, ``a.b.c``: chained ``.get`` calls; a non-object on the way gives null."""
    if len(keys) == 1:
        (first,) = keys

        def field1(value: Any) -> Any:
            try:
                return value.get(first)
            except AttributeError:
                return None

        return field1
    if len(keys) == 2:
        first, second = keys

        def field2(value: Any) -> Any:
            try:
                return value.get(first).get(second)
            except AttributeError:
                return None

        return field2
    if len(keys) == 3:
        first, second, third = keys

        def field3(value: Any) -> Any:
            try:
                return value.get(first).get(second).get(third)
            except AttributeError:
                return None

        return field3

    def field_n(value: Any) -> Any:
        try:
            for key in keys:
                value = value.get(key)
        except AttributeError:
            return None
        return value

    return field_n


def _rest_of_path(value: Any, keys: tuple[str, ...]) -> Any:
    """The generic ``.get`` walk, for generated code that met something other than a dict."""
    try:
        for key in keys:
            value = value.get(key)
    except AttributeError:
        return None
    return value


def _generated_select(
    paths: Sequence[list[str] | None], keys: list[str] | None, generic: Evaluator
) -> Evaluator:
    """``{k: a.b, ...}`` or ``[a.b, ...]`` of plain paths as one generated Python function.

    The hot shape of a mapping (many fields read from one document) becomes a single dict or
    list display of ``dict.get`` calls. Anything that is not exactly a ``dict`` on the way
    takes the generic closures, so semantics stay jmespath's.
    """
    counter = itertools.count()

    def path_code(base: str, path: list[str]) -> str:
        lookup = f"{base}.get({path[0]!r})"
        if len(path) == 1:
            return lookup
        temp = f"_t{next(counter)}"
        rest = tuple(path[1:])
        return (
            f"({path_code(temp, path[1:])} if type({temp} := {lookup}) is dict else _rest({temp}, {rest!r}))"
        )

    values = [path_code("value", path) for path in paths if path is not None]
    if keys is None:
        display = "[" + ", ".join(values) + "]"
    else:
        display = "{" + ", ".join(f"{key!r}: {code}" for key, code in zip(keys, values, strict=True)) + "}"
    source = (
        "def select(value):\n"
        "    if type(value) is not dict:\n"
        "        return generic(value)\n"
        f"    return {display}\n"
    )
    namespace: dict[str, Any] = {"generic": generic, "_rest": _rest_of_path, "dict": dict, "type": type}
    exec(compile(source, "<fieldline multiselect>", "exec"), namespace)
    selector: Evaluator = namespace["select"]
    return selector


def _missing_path(keys: tuple[str, ...]) -> Evaluator:
    """Like :func:`_field_path`, but ``MISSING`` when a key is absent or a step is not an object."""

    def lookup(value: Any) -> Any:
        for key in keys:
            if not isinstance(value, dict) or key not in value:
                return MISSING
            value = value[key]
        return value

    if len(keys) == 1:
        (first,) = keys

        def lookup1(value: Any) -> Any:
            if type(value) is dict:
                return value.get(first, MISSING)
            return lookup(value)

        return lookup1
    return lookup


def _call(function: JmespathFunction, arguments: tuple[Evaluator, ...]) -> Evaluator:
    """A closure that evaluates the arguments, checks their types and calls ``function``.

    Every function, JMESPath's own included, is wrapped the same way: an exception other than
    a :class:`FieldlineError` (``min_by()`` meeting mixed key types, a plugin's bug) becomes an
    :class:`EvaluationError` naming the function.
    """
    name = function.name
    impl = function.func
    checks = [_ArgCheck.build(types) for types in function.signature]
    # Variadic: the last check repeats for every extra argument.
    checks.extend([checks[-1]] * (len(arguments) - len(checks)) if checks else [])
    checks = checks[: len(arguments)]
    low, high = function.min_args, function.max_args
    if len(arguments) < low or (high is not None and len(arguments) > high):
        arity_error = EvaluationError(
            f"{name}() takes {function.arity_text()}, got {len(arguments)}", reason="invalid-arity"
        )

        def wrong_arity(value: Any) -> Any:
            raise arity_error

        return wrong_arity

    def fail(exc: Exception) -> EvaluationError:
        return EvaluationError(f"{name}() failed: {exc}", reason="function-failed", function=name)

    if len(arguments) == 1:
        (argument,) = arguments
        (check,) = checks
        fast = check.fast
        anything = check.any

        def call1(value: Any) -> Any:
            resolved = argument(value)
            if not anything and type(resolved) not in fast:
                check.check(name, 1, resolved)
            try:
                return impl(resolved)
            except FieldlineError:
                raise
            except Exception as exc:
                raise fail(exc) from exc

        return call1

    if len(arguments) == 2:  # the common f(x, 'literal') shape
        first, second = arguments
        first_check, second_check = checks

        def call2(value: Any) -> Any:
            one = first(value)
            two = second(value)
            if not first_check.any and type(one) not in first_check.fast:
                first_check.check(name, 1, one)
            if not second_check.any and type(two) not in second_check.fast:
                second_check.check(name, 2, two)
            try:
                return impl(one, two)
            except FieldlineError:
                raise
            except Exception as exc:
                raise fail(exc) from exc

        return call2

    # Only the positions that accept less than anything need a look.
    strict = tuple((position, check) for position, check in enumerate(checks) if not check.any)

    def call(value: Any) -> Any:
        resolved = [argument(value) for argument in arguments]
        for position, check in strict:
            item = resolved[position]
            if type(item) not in check.fast:
                check.check(name, position + 1, item)
        try:
            return impl(*resolved)
        except FieldlineError:
            raise
        except Exception as exc:
            raise fail(exc) from exc

    return call


def _plain_path(node: dict[str, Any]) -> list[str] | None:
    """``a.b.c`` as ``['a', 'b', 'c']``; ``None`` for anything more complex."""
    if node["type"] == "field":
        return [node["value"]]
    if node["type"] == "subexpression":
        keys: list[str] = []
        for child in node["children"]:
            child_path = _plain_path(child)
            if child_path is None:
                return None
            keys.extend(child_path)
        return keys
    return None


# --------------------------------------------------------------------------------------------
# The compiled expression
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CompiledExpression:
    """A parsed JMESPath expression bound to its function registry, compiled to closures.

    ``search(document)`` evaluates with JMESPath semantics and raises :class:`EvaluationError`
    (naming the expression) on type and value errors. ``search_or_missing(document)`` is the
    same, but gives ``MISSING`` when a plain field path (``a.b.c``) names an absent key.

    Both are callables chosen once, at compile time, for the expression's shape (no function
    call can fail in ``a.b``, so its ``search`` is the bare closure): they are attributes, not
    methods, so a hot loop pays one Python call per document.
    """

    text: str
    parsed: Any = field(repr=False)  # jmespath's AST; shared with jmespath's parse cache: never mutate
    registry: FunctionRegistry = field(repr=False)
    search: Evaluator = field(init=False, repr=False, compare=False)
    search_or_missing: Evaluator = field(init=False, repr=False, compare=False)
    needs_root: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _check_functions(self.text, self.parsed, self.registry)
        compiler = _Compiler(self.registry)
        evaluator = compiler.compile(self.parsed)
        search = _guarded(evaluator, self.text, needs_root=compiler.needs_root, may_raise=compiler.may_raise)
        path = _plain_path(self.parsed)
        object.__setattr__(self, "search", search)
        object.__setattr__(self, "search_or_missing", search if path is None else _missing_path(tuple(path)))
        object.__setattr__(self, "needs_root", compiler.needs_root)

    def search_reference(self, document: Any) -> Any:
        """Evaluate with jmespath's own tree interpreter (slow; for tests and benchmarks)."""
        try:
            return self.registry.interpreter.visit(self.parsed, document)
        except jmespath_exceptions.JMESPathError as exc:
            raise EvaluationError(f"expression {self.text!r} failed: {exc}", expression=self.text) from exc


def _guarded(evaluator: Evaluator, text: str, *, needs_root: bool, may_raise: bool) -> Evaluator:
    """``evaluator`` with what this expression needs around it, and nothing more."""
    if not needs_root and not may_raise:
        return evaluator

    def search(document: Any) -> Any:
        token = _search_root.set(document) if needs_root else None
        try:
            return evaluator(document)
        except EvaluationError as exc:
            if "expression" in exc.context:
                raise
            raise _located(exc, text) from exc
        finally:
            if token is not None:
                _search_root.reset(token)

    return search


def _located(exc: EvaluationError, text: str) -> EvaluationError:
    return EvaluationError(
        f"expression {text!r}: {exc.message}", hint=exc.hint, **{**exc.context, "expression": text}
    )


# --------------------------------------------------------------------------------------------
# compile_expression: parse, check functions, build closures
# --------------------------------------------------------------------------------------------


def compile_expression(text: str, registry: FunctionRegistry) -> CompiledExpression:
    """Parse and compile ``text``.

    Raises :class:`ExpressionError` with the 0-based ``position`` for syntax errors, unknown
    functions (with a 'did you mean' hint) and calls with the wrong number of arguments.
    """
    parsed = _parse(text)
    return CompiledExpression(text=text, parsed=parsed, registry=registry)


def _parse(text: str) -> Any:
    if not text.strip():
        raise ExpressionError(
            "the expression is empty",
            expression=text,
            position=0,
            hint="write a JMESPath expression such as 'customer.name'",
        )
    try:
        with warnings.catch_warnings():
            # `foo` (a bare word in backticks) is deprecated JSON-literal syntax jmespath still
            # accepts with a warning; we accept it too, silently, as the compliance suite does.
            warnings.simplefilter("ignore", PendingDeprecationWarning)
            return jmespath.compile(text).parsed
    except jmespath_exceptions.LexerError as exc:
        raise ExpressionError(_lexer_message(exc), expression=text, position=exc.lexer_position) from exc
    except jmespath_exceptions.IncompleteExpressionError as exc:
        raise ExpressionError(_incomplete_message(text), expression=text, position=len(text)) from exc
    except jmespath_exceptions.ParseError as exc:
        message, position = _parse_message(text, exc)
        hint = None
        if (exc.token_type or "").lower() == "number":
            hint = f"write a number as a JSON literal in backticks: `{exc.token_value}`"
        raise ExpressionError(message, expression=text, position=position, hint=hint) from exc
    except jmespath_exceptions.JMESPathError as exc:
        raise ExpressionError(f"invalid JMESPath expression: {exc}", expression=text, position=0) from exc


_TOKEN_WORDS = {
    "rbracket": "a closing ']'",
    "rparen": "a closing ')'",
    "rbrace": "a closing '}'",
    "colon": "':'",
    "comma": "','",
    "dot": "'.'",
    "lbracket": "'['",
    "lbrace": "'{'",
    "lparen": "'('",
    "star": "'*'",
    "quoted_identifier": "a field name",
    "unquoted_identifier": "a field name",
    "number": "a number",
    "literal": "a literal",
    "eof": "the end of the expression",
}


def _describe_token(token_type: str | None, value: Any) -> str:
    kind = (token_type or "eof").lower()
    if kind == "eof":
        return "the end of the expression"
    if kind == "literal":
        return f"the literal {_short(value)}"
    if kind == "quoted_identifier":
        return f"the quoted name {_short(value)}"
    return f"'{value}'"


def _parse_message(text: str, exc: jmespath_exceptions.ParseError) -> tuple[str, int]:
    message = exc.msg
    found = _describe_token(exc.token_type, exc.token_value)
    position: int = exc.lex_position
    expecting = re.match(r"Expecting: (.+), got: (\w+)$", message)
    if expecting:
        raw = expecting.group(1)
        wanted = python_ast.literal_eval(raw) if raw.startswith("[") else [raw]
        words = _or_list(list(dict.fromkeys(_TOKEN_WORDS.get(str(kind), f"'{kind}'") for kind in wanted)))
        return f"expected {words}, found {found}", position
    if message.startswith("Unexpected token"):
        return f"unexpected {found} after a complete expression", position
    if message.startswith("Invalid function name"):
        return f"only a plain name can be called as a function, not {found}", position
    if message.startswith("Quoted identifier not allowed"):
        return "a quoted name cannot be called as a function", _quoted_call_position(text)
    return f"unexpected {found}", position


def _or_list(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def _quoted_call_position(text: str) -> int:
    tokens = _tokens(text)
    for token, following in itertools.pairwise(tokens):
        if token["type"] == "quoted_identifier" and following["type"] == "lparen":
            return int(token["start"])
    return 0


def _lexer_message(exc: jmespath_exceptions.LexerError) -> str:
    message = exc.message
    if message.startswith("Unknown token"):
        return f"unexpected character {str(exc.lexer_value)!r}"
    if message.startswith("Unclosed"):
        delimiter = message.split()[1]
        what = {"`": "a JSON literal", "'": "a string", '"': "a quoted field name"}.get(delimiter, "a token")
        return f"{what} opened with {delimiter} is never closed; expected a closing {delimiter}"
    if message.startswith("Bad token"):
        return f"invalid JSON literal {message.removeprefix('Bad token ')!r} between backticks"
    return f"invalid quoted field name: {message}"


def _incomplete_message(text: str) -> str:
    closers = {"lbracket": "]", "filter": "]", "lbrace": "}", "lparen": ")"}
    open_stack: list[str] = []
    for token in _tokens(text):
        kind = token["type"]
        if kind in closers:
            open_stack.append(closers[kind])
        elif kind in ("rbracket", "rbrace", "rparen") and open_stack:
            open_stack.pop()
    if open_stack:
        return f"expected a closing '{open_stack[-1]}'"
    return "the expression ends too early; something must follow"


def _tokens(text: str) -> list[dict[str, Any]]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PendingDeprecationWarning)
            return [dict(token) for token in Lexer().tokenize(text)]
    except jmespath_exceptions.JMESPathError:
        return []


def _check_functions(text: str, parsed: dict[str, Any], registry: FunctionRegistry) -> None:
    """Reject unknown function names and wrong argument counts, located at the name."""
    for node in _function_nodes(parsed):
        name: str = node["value"]
        function = registry.lookup(name)
        if function is None:
            suggestion = registry.suggest(name)
            raise ExpressionError(
                f"unknown function '{name}()'",
                expression=text,
                position=_function_position(text, name),
                hint=f"did you mean '{suggestion}()'?" if suggestion else "see docs/functions.md",
                suggestion=suggestion,
            )
        count = len(node["children"])
        high = function.max_args
        if count < function.min_args or (high is not None and count > high):
            raise ExpressionError(
                f"{name}() takes {function.arity_text()}, got {count}",
                expression=text,
                position=_function_position(text, name),
                hint=f"usage: {function.usage()}",
            )


def _function_nodes(node: Any) -> Iterator[dict[str, Any]]:
    if not isinstance(node, dict):
        return
    if node.get("type") == "function_expression":
        yield node
    if node.get("type") == "literal":
        return  # a literal's value may itself be a dict with a "type" key
    for child in node.get("children", ()):
        yield from _function_nodes(child)


def _function_position(text: str, name: str) -> int:
    tokens = _tokens(text)
    for token, following in itertools.pairwise(tokens):
        if (
            token["type"] == "unquoted_identifier"
            and token["value"] == name
            and following["type"] == "lparen"
        ):
            return int(token["start"])
    return 0
