"""JMESPath expressions: compile once at spec load, evaluate many times.

Public surface (kept stable for the loader, validator and planner):

- :class:`FunctionRegistry` - the extra JMESPath functions (from the ``register_functions`` hook).
- :func:`compile_expression` - parse text into a :class:`CompiledExpression` or raise a located
  :class:`~fieldline.errors.ExpressionError`.
- :meth:`CompiledExpression.search` - JMESPath semantics (missing and null both give ``None``).
- :meth:`CompiledExpression.search_or_missing` - the same, but ``MISSING`` when a plain field
  path names a key the document does not have, so the planner can tell "absent" from "null".
- :func:`document_scope` - binds the whole source document for ``root()`` while a ``for_each``
  element is being evaluated.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import jmespath
from jmespath import exceptions as jmespath_exceptions
from jmespath import functions as jmespath_functions
from jmespath.visitor import Options, TreeInterpreter

from fieldline.errors import EvaluationError, ExpressionError
from fieldline.values import MISSING

__all__ = [
    "CompiledExpression",
    "FunctionRegistry",
    "JmespathFunction",
    "compile_expression",
    "document_scope",
]

_current_document: contextvars.ContextVar[Any] = contextvars.ContextVar("fieldline_document")


@contextmanager
def document_scope(document: Any) -> Iterator[None]:
    """Make ``root()`` return ``document`` while evaluating inside a ``for_each`` element."""
    token = _current_document.set(document)
    try:
        yield
    finally:
        _current_document.reset(token)


@dataclass(frozen=True, slots=True)
class JmespathFunction:
    """An extra JMESPath function contributed by a plugin.

    ``signature`` lists, per argument, the JMESPath type names accepted (``string``, ``number``,
    ``array``, ``object``, ``boolean``, ``null``, ``expref``, ``any``). ``variadic`` makes the
    last argument repeatable.
    """

    name: str
    func: Callable[..., Any]
    signature: tuple[tuple[str, ...], ...]
    variadic: bool = False
    doc: str = ""


class FunctionRegistry:
    """The set of extra functions one spec may call, built into jmespath ``Options`` once."""

    def __init__(self, functions: Sequence[JmespathFunction] = ()) -> None:
        self._functions = {function.name: function for function in functions}
        self.options = Options(custom_functions=_build_functions_class(self._functions)())
        self.interpreter = TreeInterpreter(self.options)

    @property
    def names(self) -> frozenset[str]:
        """Every callable name: JMESPath's built-ins and ours."""
        builtin = {
            name.removeprefix("_func_")
            for name in dir(jmespath_functions.Functions)
            if name.startswith("_func_")
        }
        return frozenset(builtin | set(self._functions))

    def __contains__(self, name: object) -> bool:
        return name in self.names

    def get(self, name: str) -> JmespathFunction | None:
        return self._functions.get(name)


def _build_functions_class(functions: dict[str, JmespathFunction]) -> type:
    namespace: dict[str, Any] = {}
    for function in functions.values():
        namespace[f"_func_{function.name}"] = _wrap(function)
    return type("FieldlineFunctions", (jmespath_functions.Functions,), namespace)


def _wrap(function: JmespathFunction) -> Any:
    def method(self: Any, *args: Any) -> Any:
        return function.func(*args)

    specs: list[dict[str, Any]] = [{"types": list(types)} for types in function.signature]
    if function.variadic and specs:
        specs[-1]["variadic"] = True
    return jmespath_functions.signature(*specs)(method)  # type: ignore[arg-type]  # stubs want TypedDicts


@dataclass(frozen=True, slots=True)
class CompiledExpression:
    """A parsed JMESPath expression bound to its function registry."""

    text: str
    parsed: Any
    registry: FunctionRegistry

    def search(self, document: Any) -> Any:
        """Evaluate with JMESPath semantics. Raises :class:`EvaluationError` on type errors."""
        try:
            return self.registry.interpreter.visit(self.parsed, document)
        except jmespath_exceptions.JMESPathError as exc:
            raise EvaluationError(f"expression {self.text!r} failed: {exc}", expression=self.text) from exc

    def search_or_missing(self, document: Any) -> Any:
        """Like :meth:`search`, but ``MISSING`` when a plain field path is absent."""
        path = _plain_path(self.parsed)
        if path is None:
            return self.search(document)
        current = document
        for key in path:
            if not isinstance(current, dict) or key not in current:
                return MISSING
            current = current[key]
        return current


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


def compile_expression(text: str, registry: FunctionRegistry) -> CompiledExpression:
    """Parse ``text``; raise :class:`ExpressionError` with the 0-based ``position`` on failure."""
    try:
        parsed = jmespath.compile(text).parsed
    except jmespath_exceptions.ParseError as exc:
        position = getattr(exc, "lex_position", None)
        raise ExpressionError(
            f"invalid JMESPath expression: {exc.msg}" if hasattr(exc, "msg") else str(exc),
            expression=text,
            position=position if isinstance(position, int) else None,
        ) from exc
    except jmespath_exceptions.JMESPathError as exc:
        raise ExpressionError(f"invalid JMESPath expression: {exc}", expression=text) from exc
    return CompiledExpression(text=text, parsed=parsed, registry=registry)
