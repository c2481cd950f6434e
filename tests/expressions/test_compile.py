"""compile_expression: located syntax errors, unknown functions, arity; search and MISSING."""

from __future__ import annotations

from typing import Any

import pytest

from fieldline.errors import ConfigError, EvaluationError, ExpressionError
from fieldline.expressions.compiled import (
    CompiledExpression,
    Expref,
    FunctionRegistry,
    JmespathFunction,
    compile_expression,
    current_root,
    document_scope,
)
from fieldline.values import MISSING


@pytest.mark.parametrize(
    ("text", "message", "position"),
    [
        pytest.param("a.[", "expected a closing ']'", 3, id="unclosed-bracket"),
        pytest.param("a[?b == `1`", "expected a closing ']'", 11, id="unclosed-filter"),
        pytest.param("{a: b", "expected a closing '}'", 5, id="unclosed-brace"),
        pytest.param("length(a", "expected a closing ')'", 8, id="unclosed-paren"),
        pytest.param("a ==", "the expression ends too early", 4, id="dangling-operator"),
        pytest.param("a b", "unexpected 'b' after a complete expression", 2, id="two-expressions"),
        pytest.param("a.1", "expected a field name, '[' or '{', found '1'", 2, id="number-after-dot"),
        pytest.param("a[?b == 1]", "unexpected '1'", 8, id="bare-number"),
        pytest.param("a | $", "unexpected character '$'", 4, id="bad-character"),
        pytest.param('`{"a": 1`', "invalid JSON literal", 0, id="bad-json-literal"),
        pytest.param("name == 'x", "a string opened with ' is never closed", 8, id="unclosed-string"),
        pytest.param('foo."bar"()', "a quoted name cannot be called as a function", 4, id="quoted-call"),
        pytest.param("   ", "the expression is empty", 0, id="blank"),
    ],
)
def test_syntax_errors_are_human_and_located(
    text: str, message: str, position: int, registry: FunctionRegistry
) -> None:
    with pytest.raises(ExpressionError) as caught:
        compile_expression(text, registry)
    assert message in caught.value.message
    assert caught.value.position == position
    assert caught.value.expression == text


def test_unknown_function_points_at_the_name_and_suggests(registry: FunctionRegistry) -> None:
    text = "records[0].{name: lowr(name)}"
    with pytest.raises(ExpressionError) as caught:
        compile_expression(text, registry)
    error = caught.value
    assert error.message == "unknown function 'lowr()'"
    assert error.hint == "did you mean 'lower()'?"
    assert error.position == text.index("lowr")
    assert error.context["suggestion"] == "lower"
    assert str(error) == "unknown function 'lowr()' (did you mean 'lower()'?)"


def test_bare_number_hints_at_literal_syntax(registry: FunctionRegistry) -> None:
    with pytest.raises(ExpressionError) as caught:
        compile_expression("a[?b == 1]", registry)
    assert caught.value.hint == "write a number as a JSON literal in backticks: `1`"


def test_unknown_function_without_close_name(registry: FunctionRegistry) -> None:
    with pytest.raises(ExpressionError) as caught:
        compile_expression("qqqqqq(a)", registry)
    assert caught.value.context["suggestion"] is None
    assert caught.value.hint == "see docs/functions.md"


def test_unknown_function_inside_an_unevaluated_branch_is_still_caught(registry: FunctionRegistry) -> None:
    with pytest.raises(ExpressionError, match="uper"):
        compile_expression("a || sort_by(b, &uper(c))", registry)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("length(a, b)", "length() takes 1 argument, got 2", id="builtin-too-many"),
        pytest.param("not_null()", "not_null() takes at least 1 argument, got 0", id="variadic-none"),
        pytest.param("split(a)", "split() takes 2 to 3 arguments, got 1", id="optional-too-few"),
        pytest.param("trim(a, 'x', 'y')", "trim() takes 1 to 2 arguments, got 3", id="optional-too-many"),
        pytest.param("root(a)", "root() takes 0 arguments, got 1", id="no-arguments"),
    ],
)
def test_wrong_arity_is_a_compile_error(text: str, message: str, registry: FunctionRegistry) -> None:
    with pytest.raises(ExpressionError) as caught:
        compile_expression(f"x.{text}", registry)
    assert caught.value.message == message
    assert caught.value.position == 2
    assert caught.value.hint is not None
    assert caught.value.hint.startswith(f"usage: {text.split('(', maxsplit=1)[0]}(")


@pytest.mark.parametrize(
    ("function", "usage"),
    [
        pytest.param(
            JmespathFunction("f", len, (("string", "null"), ("number",)), optional=1),
            "f(string|null[, number])",
        ),
        pytest.param(JmespathFunction("f", len, (("any",),), optional=1), "f([any])"),
        pytest.param(JmespathFunction("f", len, (("object",),), variadic=True), "f(object, ...)"),
        pytest.param(JmespathFunction("f", len, ()), "f()"),
    ],
)
def test_usage_text(function: JmespathFunction, usage: str) -> None:
    assert function.usage() == usage


def test_deprecated_bare_literal_compiles_without_warning(registry: FunctionRegistry) -> None:
    # filterwarnings=error would turn jmespath's PendingDeprecationWarning into a failure.
    assert compile_expression("`foo`", registry).search({}) == "foo"


def test_search_or_missing_tells_absent_from_null(registry: FunctionRegistry) -> None:
    path = compile_expression("customer.email", registry)
    assert path.search_or_missing({"customer": {"email": None}}) is None
    assert path.search_or_missing({"customer": {}}) is MISSING
    assert path.search_or_missing({}) is MISSING
    assert path.search_or_missing({"customer": "text"}) is MISSING
    assert path.search_or_missing({"customer": {"email": "a@b.c"}}) == "a@b.c"
    assert path.search({"customer": {}}) is None
    single = compile_expression("id", registry)
    assert single.search_or_missing({"id": 0}) == 0
    assert single.search_or_missing({}) is MISSING
    assert single.search_or_missing([1]) is MISSING


def test_search_or_missing_is_search_for_other_expressions(registry: FunctionRegistry) -> None:
    expression = compile_expression("customer.emails[0]", registry)
    assert expression.search_or_missing({}) is None
    assert expression.search_or_missing({"customer": {"emails": ["x"]}}) == "x"


def test_root_inside_document_scope_reaches_the_document(registry: FunctionRegistry) -> None:
    document = {"customer_ref": "C-1", "applications": [{"id": "A"}, {"id": "B"}]}
    element = compile_expression("{id: id, customer: root().customer_ref}", registry)
    with document_scope(document):
        results = [element.search(item) for item in document["applications"]]
        assert current_root() is document
    assert results == [{"id": "A", "customer": "C-1"}, {"id": "B", "customer": "C-1"}]
    # Outside a scope root() is whatever is being searched.
    assert element.search({"id": "Z", "customer_ref": "own"}) == {"id": "Z", "customer": "own"}
    assert current_root() is None


def test_evaluation_errors_name_the_expression(registry: FunctionRegistry) -> None:
    expression = compile_expression("abs(name)", registry)
    with pytest.raises(EvaluationError) as caught:
        expression.search({"name": "Jane"})
    error = caught.value
    assert error.context["expression"] == "abs(name)"
    assert error.context["reason"] == "invalid-type"
    assert "abs() argument 1 must be a number, got string" in error.message


def test_zero_slice_step_is_an_invalid_value(registry: FunctionRegistry) -> None:
    expression = compile_expression("a[::0]", registry)
    assert expression.search({"a": "not a list"}) is None
    with pytest.raises(EvaluationError) as caught:
        expression.search({"a": [1, 2]})
    assert caught.value.context["reason"] == "invalid-value"


def test_plugin_function_failures_become_evaluation_errors() -> None:
    def explode(value: Any) -> Any:
        raise ZeroDivisionError("boom")

    registry = FunctionRegistry([JmespathFunction("explode", explode, (("any",),))])
    with pytest.raises(EvaluationError, match=r"explode\(\) failed: boom") as caught:
        compile_expression("explode(a)", registry).search({"a": 1})
    inner = caught.value.__cause__
    assert isinstance(inner, EvaluationError)
    assert isinstance(inner.__cause__, ZeroDivisionError)


def test_plugin_functions_get_callable_exprefs() -> None:
    def apply(expref: Expref, values: list[Any]) -> list[Any]:
        # Both the fieldline call style and jmespath's visit() style work.
        return [expref(value) for value in values] + [expref.visit(expref.expression, values[0])]

    registry = FunctionRegistry([JmespathFunction("apply", apply, (("expref",), ("array",)))])
    expression = compile_expression("apply(&x, items)", registry)
    assert expression.search({"items": [{"x": 1}, {"x": 2}]}) == [1, 2, 1]
    assert expression.search_reference({"items": [{"x": 1}, {"x": 2}]}) == [1, 2, 1]


def test_plugins_may_not_replace_jmespath_builtins() -> None:
    with pytest.raises(ConfigError, match="length"):
        FunctionRegistry([JmespathFunction("length", len, (("any",),))])


def test_registry_knows_every_name(registry: FunctionRegistry) -> None:
    assert {"length", "sort_by", "lower", "root_domain", "root"} <= registry.names
    assert "lower" in registry
    assert "length" not in registry.extra_names
    assert registry.get("length") is None
    function = registry.get("lower")
    assert function is not None
    assert function.name == "lower"
    assert registry.suggest("uper") == "upper"


def test_compiled_expression_built_directly_is_compiled(registry: FunctionRegistry) -> None:
    parsed = compile_expression("a.b", registry).parsed
    direct = CompiledExpression(text="a.b", parsed=parsed, registry=registry)
    assert direct.search({"a": {"b": 2}}) == 2
    assert direct.search_or_missing({"a": {}}) is MISSING


def test_literals_are_not_confused_with_nodes(registry: FunctionRegistry) -> None:
    # A JSON literal that looks like an AST node must not be checked as a function call.
    literal = '`{"type": "function_expression", "value": "nope", "children": []}`'
    assert compile_expression(literal, registry).search(None)["value"] == "nope"


def test_generated_multiselect_keeps_odd_keys_and_non_dict_steps(registry: FunctionRegistry) -> None:
    text = """{"it's": a.b, "quote\\"d": a, "new\\nline": c.d.e, plain: a.b.c}"""
    expression = compile_expression(text, registry)
    document = {"a": {"b": [1]}, "c": {"d": "text"}}
    expected = {"it's": [1], 'quote"d': {"b": [1]}, "new\nline": None, "plain": None}
    assert expression.search(document) == expected
    assert expression.search_reference(document) == expected
    assert expression.search(None) is None
    assert expression.search([1]) == dict.fromkeys(expected)


@pytest.mark.parametrize(
    "options",
    [
        pytest.param({"signature": (("any",),), "optional": 2}, id="more-optional-than-arguments"),
        pytest.param({"signature": (("any",),), "optional": 1, "variadic": True}, id="optional-and-variadic"),
        pytest.param({"signature": (), "variadic": True}, id="variadic-without-argument"),
    ],
)
def test_inconsistent_function_declarations_are_refused(options: dict[str, Any]) -> None:
    with pytest.raises(ConfigError, match="'bad'"):
        JmespathFunction("bad", len, **options)
