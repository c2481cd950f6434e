"""The plain source paths an expression reads (``payload.email`` in ``lower(payload.email)``),
so ``validate`` can ask the source whether documents can hold them."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

__all__ = ["plain_paths"]

# Nodes whose every child is evaluated against the same document as the node itself.
_SAME_SCOPE = frozenset(
    {
        "function_expression",
        "or_expression",
        "and_expression",
        "not_expression",
        "comparator",
        "multi_select_list",
        "multi_select_dict",
        "key_val_pair",
    }
)
# Nodes whose first child is evaluated against the document, the rest against its results.
_LEFT_SCOPE = frozenset(
    {"index_expression", "projection", "value_projection", "filter_projection", "flatten", "pipe"}
)


def plain_paths(node: Any) -> Iterator[str]:
    """Every dotted field path of ``node`` (a jmespath AST) read from the root document."""
    if not isinstance(node, Mapping):
        return
    kind = node.get("type")
    children = node.get("children") or []
    if kind == "field":
        yield str(node.get("value"))
    elif kind == "subexpression":
        dotted = _dotted(node)
        if dotted is not None:
            yield dotted
        elif children:
            yield from plain_paths(children[0])
    elif kind in _SAME_SCOPE:
        for child in children:
            yield from plain_paths(child)
    elif kind in _LEFT_SCOPE and children:
        yield from plain_paths(children[0])


def _dotted(node: Mapping[str, Any]) -> str | None:
    if node.get("type") == "field":
        return str(node.get("value"))
    if node.get("type") != "subexpression":
        return None
    parts = [_dotted(child) for child in node.get("children") or []]
    if not parts or any(part is None for part in parts):
        return None
    return ".".join(part for part in parts if part is not None)
