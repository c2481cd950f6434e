"""JMESPath expressions: compile once at spec load, evaluate many times; extra functions and
match normalizers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fieldline.exports import resolve

if TYPE_CHECKING:
    from fieldline.expressions.compiled import (
        JMESPATH_BUILTINS,
        CompiledExpression,
        Evaluator,
        Expref,
        FunctionRegistry,
        JmespathFunction,
        compile_expression,
        current_root,
        document_scope,
        jmespath_type,
    )
    from fieldline.expressions.functions import (
        BUILTIN_FUNCTIONS,
    )
    from fieldline.expressions.normalizers import (
        BUILTIN_NORMALIZERS,
        collapse_whitespace,
        digits,
        email,
        lower,
        root_domain,
        trim,
        upper,
    )

_EXPORTS = {
    "BUILTIN_FUNCTIONS": "fieldline.expressions.functions",
    "BUILTIN_NORMALIZERS": "fieldline.expressions.normalizers",
    "CompiledExpression": "fieldline.expressions.compiled",
    "Evaluator": "fieldline.expressions.compiled",
    "Expref": "fieldline.expressions.compiled",
    "FunctionRegistry": "fieldline.expressions.compiled",
    "JMESPATH_BUILTINS": "fieldline.expressions.compiled",
    "JmespathFunction": "fieldline.expressions.compiled",
    "collapse_whitespace": "fieldline.expressions.normalizers",
    "compile_expression": "fieldline.expressions.compiled",
    "current_root": "fieldline.expressions.compiled",
    "digits": "fieldline.expressions.normalizers",
    "document_scope": "fieldline.expressions.compiled",
    "email": "fieldline.expressions.normalizers",
    "jmespath_type": "fieldline.expressions.compiled",
    "lower": "fieldline.expressions.normalizers",
    "root_domain": "fieldline.expressions.normalizers",
    "trim": "fieldline.expressions.normalizers",
    "upper": "fieldline.expressions.normalizers",
}
__all__ = [
    "BUILTIN_FUNCTIONS",
    "BUILTIN_NORMALIZERS",
    "JMESPATH_BUILTINS",
    "CompiledExpression",
    "Evaluator",
    "Expref",
    "FunctionRegistry",
    "JmespathFunction",
    "collapse_whitespace",
    "compile_expression",
    "current_root",
    "digits",
    "document_scope",
    "email",
    "jmespath_type",
    "lower",
    "root_domain",
    "trim",
    "upper",
]


def __getattr__(name: str) -> Any:
    return resolve(__name__, _EXPORTS, name)
