"""Property: the compiled evaluator agrees with jmespath's tree interpreter on any document.

The reference is ``jmespath`` itself, with the same extra functions plugged in through
``FunctionRegistry.options``. Where jmespath.py crashes with a raw Python error (ordering a
string against a number, ``merge`` on a non-object past the first argument) fieldline either
returns JMESPath's answer (null) or raises an ``EvaluationError``, never a raw exception.
``merge`` is only called with a literal object after the first argument: jmespath.py checks
the types of a variadic function's first argument only, fieldline checks them all (see
``test_merge_checks_every_argument``).
"""

from __future__ import annotations

import json
from typing import Any

import jmespath
import pytest
from hypothesis import given
from jmespath.exceptions import JMESPathError

from fieldline.errors import EvaluationError
from fieldline.expressions.compiled import FunctionRegistry, compile_expression
from tests.expressions.strategies import documents, expressions

EXPRESSIONS = (
    # paths, indexes, slices
    "a", "a.b", "a.b.c", "foo.bar.a.b", '"a"', "@", "@.a", "a[0]", "a[-1]", "a[1].b", "a[0][0]",
    "a[1:]", "a[::-1]", "a[:2].b", "a[::2][0]",
    # projections and flatten
    "a[*]", "a[*].b", "a[*].b[0]", "*", "*.a", "a.*", "a.*.b", "a[]", "a[].b", "a[][]", "[]",
    "a[*][*]", "a[*].*", "[*].a",
    # filters and comparisons
    "a[?b]", "a[?b == `1`]", "a[?b != 'foo']", "a[?b > `0`]", "a[?b <= `1.5`]", "a[?@ == `1`]",
    "a[?b < c]", "a[?a >= 'a']", "a[?!b]", "a[?b && c].a", "a[?b || c] | [0]",
    "a == b", "a != b", "a < b", "a > `1`", "a == `0`", "a == `false`", "a == `[1]`",
    # logic
    "a || b", "a && b", "!a", "!!a", "a || b && c", "(a || b).c", "!(a == b)",
    # multiselects and pipes
    "[a, b]", "{x: a, y: b}", "{x: a.b, y: c[0]}", "a.[b, c]", "a.{x: b}", "a | b", "a[*] | [0]",
    "a[*].[b, c]", "a[*].{x: b}", "[a, b][]", "{x: a.b.c, y: foo.bar, z: a, x2: b.a.c.b}",
    "[a.b, b.c.a, c]", "a[*].{x: b.c, y: a}", '{"a b": a, "\\"": b.c}',
    # JMESPath functions
    "length(a)", "keys(a)", "values(a)", "type(a)", "to_string(a)", "to_number(a)", "to_array(a)",
    "not_null(a, b, c)", "sort(a)", "sum(a)", "avg(a)", "max(a)", "min(a)", "reverse(a)",
    "abs(a)", "ceil(a)", "floor(a)", "contains(a, 'a')", "contains(a, b)", "starts_with(a, 'f')",
    "ends_with(a, b)", "join(',', a)", 'merge(a, `{"x": 1}`)', "map(&b, a)", "sort_by(a, &b)",
    "max_by(a, &b)", "min_by(a, &a)", "length(a[?b])",
    # fieldline functions
    "lower(a)", "upper(b)", "trim(a)", "trim(a, 'a')", "trim_left(a)", "trim_right(a, b)",
    "split(a, 'a')", "split(a, '', `1`)", "replace(a, 'o', '0')", "pad_left(a, `3`, '.')",
    "pad_right(a, `2`)", "find_first(a, 'o')", "find_last(a, 'a', `0`, `5`)", "coalesce(a, b, c)",
    "root_domain(a)", "to_date(a)", "to_datetime(b)", "format_date(c, '%Y')",
    "a[*].lower(b)", "{x: upper(a), y: coalesce(b, `false`)}",
)  # fmt: skip


def _outcome_reference(text: str, document: Any, registry: FunctionRegistry) -> tuple[str, Any]:
    try:
        return "value", jmespath.search(text, document, options=registry.options)
    except (JMESPathError, EvaluationError):
        return "error", None
    except (TypeError, ValueError, OverflowError) as exc:  # jmespath.py's own crashes
        return "crash", type(exc).__name__


def _outcome_fast(text: str, document: Any, registry: FunctionRegistry) -> tuple[str, Any]:
    try:
        return "value", compile_expression(text, registry).search(document)
    except EvaluationError:
        return "error", None


@pytest.fixture(scope="module")
def module_registry() -> FunctionRegistry:
    from fieldline.plugins.manager import function_registry, get_plugin_manager

    return function_registry(get_plugin_manager(load_entrypoints=False))


@given(document=documents())
def test_fast_evaluator_matches_jmespath(document: Any, module_registry: FunctionRegistry) -> None:
    for text in EXPRESSIONS:
        expected = _outcome_reference(text, document, module_registry)
        actual = _outcome_fast(text, document, module_registry)
        if expected[0] == "crash":
            assert actual[0] in ("value", "error"), text
            continue
        assert actual[0] == expected[0], (text, actual, expected)
        assert json.dumps(actual[1], sort_keys=True) == json.dumps(expected[1], sort_keys=True), text


def test_every_node_type_is_exercised(module_registry: FunctionRegistry) -> None:
    seen: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict) and "type" in node:
            seen.add(node["type"])
            if node["type"] != "literal":
                for child in node.get("children", ()):
                    walk(child)

    for text in EXPRESSIONS:
        walk(compile_expression(text, module_registry).parsed)
    expected = {
        "field", "subexpression", "index_expression", "index", "slice", "projection",
        "value_projection", "filter_projection", "flatten", "literal", "current", "identity",
        "multi_select_list", "multi_select_dict", "key_val_pair", "comparator", "or_expression",
        "and_expression", "not_expression", "pipe", "function_expression", "expref",
    }  # fmt: skip
    assert expected <= seen


@given(text=expressions, document=documents(max_leaves=8))
def test_generated_expressions_match_jmespath(
    text: str, document: Any, module_registry: FunctionRegistry
) -> None:
    expected = _outcome_reference(text, document, module_registry)
    actual = _outcome_fast(text, document, module_registry)
    if expected[0] == "crash":
        assert actual[0] in ("value", "error")
        return
    assert actual[0] == expected[0], (actual, expected)
    assert json.dumps(actual[1], sort_keys=True) == json.dumps(expected[1], sort_keys=True)


def test_merge_checks_every_argument(module_registry: FunctionRegistry) -> None:
    expression = compile_expression("merge(a, b)", module_registry)
    with pytest.raises(EvaluationError, match=r"merge\(\) argument 2 must be an object, got array"):
        expression.search({"a": {}, "b": [["k", "v"]]})
    assert jmespath.search("merge(a, b)", {"a": {}, "b": [["k", "v"]]}) == {"k": "v"}  # the gap
