"""Compile-time checks of function calls: unknown names ("did you mean") and argument counts."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

from fieldline.errors import ExpressionError
from fieldline.expressions.registry import FunctionRegistry
from fieldline.expressions.syntax import tokenize

__all__ = ["check_functions"]


def check_functions(text: str, parsed: dict[str, Any], registry: FunctionRegistry) -> None:
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
    tokens = tokenize(text)
    for token, following in itertools.pairwise(tokens):
        if (
            token["type"] == "unquoted_identifier"
            and token["value"] == name
            and following["type"] == "lparen"
        ):
            return int(token["start"])
    return 0
