"""JMESPath expressions: compile once at spec load, evaluate many times; extra functions and
match normalizers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fieldline.exports import exported, resolve

if TYPE_CHECKING:
    from fieldline.expressions.compiled import (
        JMESPATH_BUILTINS as JMESPATH_BUILTINS,
        CompiledExpression as CompiledExpression,
        Evaluator as Evaluator,
        Expref as Expref,
        FunctionRegistry as FunctionRegistry,
        JmespathFunction as JmespathFunction,
        compile_expression as compile_expression,
        current_root as current_root,
        document_scope as document_scope,
        jmespath_type as jmespath_type,
    )
    from fieldline.expressions.functions import BUILTIN_FUNCTIONS as BUILTIN_FUNCTIONS
    from fieldline.expressions.normalizers import (
        BUILTIN_NORMALIZERS as BUILTIN_NORMALIZERS,
        collapse_whitespace as collapse_whitespace,
        digits as digits,
        email as email,
        lower as lower,
        root_domain as root_domain,
        trim as trim,
        upper as upper,
    )

__all__ = exported(__file__)


def __getattr__(name: str) -> Any:
    return resolve(__name__, __file__, name)
