"""JMESPath types and function descriptions, shared by the registry and the compiler.

- :class:`JmespathFunction` - one function: name, callable, per-argument JMESPath types.
- :class:`Expref` - the value of ``&expression`` handed to functions.
- :func:`jmespath_type` - the JMESPath type name of a Python value.
- :class:`ArgCheck` - what one argument position accepts, checked fast at every call.

Re-exported by :mod:`fieldline.expressions.compiled`; import the public names from there.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from numbers import Number
from typing import Any

from fieldline.errors import ConfigError, EvaluationError

__all__ = [
    "ArgCheck",
    "Evaluator",
    "Expref",
    "JmespathFunction",
    "jmespath_type",
    "short",
    "type_words",
]

Evaluator = Callable[[Any], Any]


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


# In this order: a bool is also a Number.
_NEAREST_TYPE: tuple[tuple[type, str], ...] = (
    (bool, "boolean"),
    (str, "string"),
    (Number, "number"),
    (list, "array"),
    (dict, "object"),
    (Expref, "expref"),
)


def jmespath_type(value: Any) -> str:
    """The JMESPath type name of a Python value (``unknown`` for anything JSON cannot hold)."""
    name = _TYPE_OF.get(type(value))
    if name is not None:
        return name
    # Subclasses (a YAML loader's maps, IntEnum, ...): classify by the nearest JSON type.
    return next((name for kind, name in _NEAREST_TYPE if isinstance(value, kind)), "unknown")


def short(value: Any) -> str:
    try:
        text = json.dumps(value, default=str)
    except ValueError:
        text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


@dataclass(frozen=True, slots=True)
class ArgCheck:
    """What one argument position accepts, precomputed for fast checks."""

    types: tuple[str, ...]
    fast: frozenset[type]  # exact Python types accepted without a closer look
    any: bool

    @classmethod
    def build(cls, types: tuple[str, ...]) -> ArgCheck:
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
                    f"{function}() argument {position} must be {type_words(self.types)}, "
                    f"got an array with other elements: {short(value)}",
                    reason="invalid-type",
                    function=function,
                )
        raise EvaluationError(
            f"{function}() argument {position} must be {type_words(self.types)}, "
            f"got {actual}: {short(value)}",
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


def type_words(types: tuple[str, ...]) -> str:
    words = [
        name.replace("array-", "an array of ") + ("s" if name.startswith("array-") else "") for name in types
    ]
    words = [word if word.startswith("an array") else _article(word) for word in words]
    return " or ".join(words)


def _article(name: str) -> str:
    return {"null": "null", "expref": "an &expression", "array": "an array", "object": "an object"}.get(
        name, f"a {name}"
    )
