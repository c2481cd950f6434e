"""Compiling a parsed JMESPath expression into closures, once per expression.

:class:`Compiler` has one method per jmespath AST node type; each returns a closure that
evaluates that node, so evaluation never walks the AST. Plain field paths (``a.b.c``) become
chained ``dict.get`` calls, and multiselects of plain paths one generated function.
:func:`missing_path` is the ``search_or_missing`` reader of a plain path.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from numbers import Number
from typing import Any

from fieldline.errors import EvaluationError, FieldlineError
from fieldline.expressions.function_types import ArgCheck, Evaluator, Expref, JmespathFunction
from fieldline.expressions.registry import FunctionRegistry
from fieldline.values import MISSING

__all__ = ["Compiler", "missing_path", "plain_path"]


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


class Compiler:
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
        keys = plain_path(node)
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

        paths = [plain_path(child) for child in node["children"]]
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

        paths = [plain_path(child) for _, child in pairs]
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


def missing_path(keys: tuple[str, ...]) -> Evaluator:
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
    if len(keys) == 2:  # the common `a.b`
        first, second = keys

        def lookup2(value: Any) -> Any:
            if type(value) is dict:
                inner = value.get(first)
                if type(inner) is dict:
                    return inner.get(second, MISSING)
                if inner is None:  # absent or null on the way: no object to look into
                    return MISSING
            return lookup(value)  # not an object, or a dict subclass: the generic walk

        return lookup2
    if len(keys) == 3:
        first, second, third = keys

        def lookup3(value: Any) -> Any:
            if type(value) is dict:
                inner = value.get(first)
                if type(inner) is dict:
                    inner = inner.get(second)
                    if type(inner) is dict:
                        return inner.get(third, MISSING)
                if inner is None:
                    return MISSING
            return lookup(value)

        return lookup3

    def lookup_n(value: Any) -> Any:
        # Plain dicts all the way (the usual JSON document): one .get per step. Anything else
        # takes the generic walk from the start, so dict subclasses see exactly its lookups.
        current = value
        for key in keys:
            if type(current) is not dict:
                return MISSING if current is MISSING or current is None else lookup(value)
            current = current.get(key, MISSING)
        return current

    return lookup_n


def _call(function: JmespathFunction, arguments: tuple[Evaluator, ...]) -> Evaluator:
    """A closure that evaluates the arguments, checks their types and calls ``function``.

    Every function, JMESPath's own included, is wrapped the same way: an exception other than
    a :class:`FieldlineError` (``min_by()`` meeting mixed key types, a plugin's bug) becomes an
    :class:`EvaluationError` naming the function.
    """
    name = function.name
    impl = function.func
    checks = [ArgCheck.build(types) for types in function.signature]
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


def plain_path(node: dict[str, Any]) -> list[str] | None:
    """``a.b.c`` as ``['a', 'b', 'c']``; ``None`` for anything more complex."""
    if node["type"] == "field":
        return [node["value"]]
    if node["type"] == "subexpression":
        keys: list[str] = []
        for child in node["children"]:
            child_path = plain_path(child)
            if child_path is None:
                return None
            keys.extend(child_path)
        return keys
    return None
