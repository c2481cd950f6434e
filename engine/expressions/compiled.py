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
expression (``Compiler``), and multiselects of plain paths become one generated function.
That is about 10x faster than ``TreeInterpreter.visit`` and gives the same results on the
whole JMESPath compliance suite (``tests/expressions/test_compliance.py``).

One job per module, in import order (none imports this one; this one ties them together and
re-exports their public names, so import from here):

- ``expression_types`` - :class:`JmespathFunction`, :class:`Expref`, per-argument type checks.
- ``expression_registry`` - JMESPath's own functions and :class:`FunctionRegistry`.
- ``expression_syntax`` - parsing, with syntax errors rewritten as located, human messages.
- ``expression_checks`` - compile-time checks: unknown functions ("did you mean"), arity.
- ``expression_compiler`` - the closure compiler, one method per AST node type.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from jmespath import exceptions as jmespath_exceptions

from fieldline.errors import EvaluationError
from fieldline.expressions.call_checks import check_functions
from fieldline.expressions.compiler import Compiler, missing_path, plain_path
from fieldline.expressions.function_types import Evaluator, Expref, JmespathFunction, jmespath_type
from fieldline.expressions.registry import JMESPATH_BUILTINS, FunctionRegistry
from fieldline.expressions.syntax import parse

# Everything public that lived in this module before it was split stays importable from here.
__all__ = [
    "JMESPATH_BUILTINS",
    "CompiledExpression",
    "Evaluator",
    "Expref",
    "FunctionRegistry",
    "JmespathFunction",
    "compile_expression",
    "current_root",
    "document_scope",
    "jmespath_type",
]


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
        check_functions(self.text, self.parsed, self.registry)
        compiler = Compiler(self.registry)
        evaluator = compiler.compile(self.parsed)
        search = _guarded(evaluator, self.text, needs_root=compiler.needs_root, may_raise=compiler.may_raise)
        path = plain_path(self.parsed)
        object.__setattr__(self, "search", search)
        object.__setattr__(self, "search_or_missing", search if path is None else missing_path(tuple(path)))
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
    parsed = parse(text)
    return CompiledExpression(text=text, parsed=parsed, registry=registry)
