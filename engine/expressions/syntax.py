"""Parsing expression text, with jmespath's syntax errors rewritten as located, human messages.

jmespath reports ``Expecting: ['rbracket', ...], got: eof``; :func:`parse` raises an
:class:`~fieldline.errors.ExpressionError` such as "expected a closing ']'" with the 0-based
position of the offending character.
"""

from __future__ import annotations

import ast as python_ast
import itertools
import re
import warnings
from typing import Any

import jmespath
from jmespath import exceptions as jmespath_exceptions
from jmespath.lexer import Lexer

from fieldline.errors import ExpressionError
from fieldline.expressions.function_types import short

__all__ = ["MAX_EXPRESSION_LENGTH", "parse", "tokenize"]

# jmespath's lexer builds literals and strings by repeated concatenation: a 1 MB literal takes
# about 26 s. An expression is a line or two written by hand; 10,000 characters is generous.
MAX_EXPRESSION_LENGTH = 10_000


def parse(text: str) -> Any:
    if len(text) > MAX_EXPRESSION_LENGTH:
        raise ExpressionError(
            f"the expression is {len(text):,} characters long, over the limit of {MAX_EXPRESSION_LENGTH:,}",
            expression=text[:80],
            position=0,
            hint="keep data out of expressions: use 'map' for lookup tables and 'const' for fixed "
            "values (this limit cannot be raised)",
        )
    if not text.strip():
        raise ExpressionError(
            "the expression is empty",
            expression=text,
            position=0,
            hint="write a JMESPath expression such as 'customer.name'",
        )
    try:
        with warnings.catch_warnings():
            # `foo` (a bare word in backticks) is deprecated JSON-literal syntax jmespath still
            # accepts with a warning; we accept it too, silently, as the compliance suite does.
            warnings.simplefilter("ignore", PendingDeprecationWarning)
            return jmespath.compile(text).parsed
    except jmespath_exceptions.LexerError as exc:
        raise ExpressionError(_lexer_message(exc), expression=text, position=exc.lexer_position) from exc
    except jmespath_exceptions.IncompleteExpressionError as exc:
        raise ExpressionError(_incomplete_message(text), expression=text, position=len(text)) from exc
    except jmespath_exceptions.ParseError as exc:
        message, position = _parse_message(text, exc)
        hint = None
        if (exc.token_type or "").lower() == "number":
            hint = f"write a number as a JSON literal in backticks: `{exc.token_value}`"
        raise ExpressionError(message, expression=text, position=position, hint=hint) from exc
    except jmespath_exceptions.JMESPathError as exc:
        raise ExpressionError(f"invalid JMESPath expression: {exc}", expression=text, position=0) from exc
    except RecursionError as exc:  # jmespath's parser recurses once per nesting level
        raise ExpressionError(
            "the expression is nested too deeply",
            expression=text[:80],
            position=0,
            hint="an expression needs a few levels of brackets or parentheses, not hundreds",
        ) from exc


_TOKEN_WORDS = {
    "rbracket": "a closing ']'",
    "rparen": "a closing ')'",
    "rbrace": "a closing '}'",
    "colon": "':'",
    "comma": "','",
    "dot": "'.'",
    "lbracket": "'['",
    "lbrace": "'{'",
    "lparen": "'('",
    "star": "'*'",
    "quoted_identifier": "a field name",
    "unquoted_identifier": "a field name",
    "number": "a number",
    "literal": "a literal",
    "eof": "the end of the expression",
}


def _describe_token(token_type: str | None, value: Any) -> str:
    kind = (token_type or "eof").lower()
    if kind == "eof":
        return "the end of the expression"
    if kind == "literal":
        return f"the literal {short(value)}"
    if kind == "quoted_identifier":
        return f"the quoted name {short(value)}"
    return f"'{value}'"


def _parse_message(text: str, exc: jmespath_exceptions.ParseError) -> tuple[str, int]:
    message = exc.msg
    found = _describe_token(exc.token_type, exc.token_value)
    position: int = exc.lex_position
    expecting = re.match(r"Expecting: (.+), got: (\w+)$", message)
    if expecting:
        raw = expecting.group(1)
        wanted = python_ast.literal_eval(raw) if raw.startswith("[") else [raw]
        words = _or_list(list(dict.fromkeys(_TOKEN_WORDS.get(str(kind), f"'{kind}'") for kind in wanted)))
        return f"expected {words}, found {found}", position
    if message.startswith("Unexpected token"):
        return f"unexpected {found} after a complete expression", position
    if message.startswith("Invalid function name"):
        return f"only a plain name can be called as a function, not {found}", position
    if message.startswith("Quoted identifier not allowed"):
        return "a quoted name cannot be called as a function", _quoted_call_position(text)
    return f"unexpected {found}", position


def _or_list(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def _quoted_call_position(text: str) -> int:
    tokens = tokenize(text)
    for token, following in itertools.pairwise(tokens):
        if token["type"] == "quoted_identifier" and following["type"] == "lparen":
            return int(token["start"])
    return 0


def _lexer_message(exc: jmespath_exceptions.LexerError) -> str:
    message = exc.message
    if message.startswith("Unknown token"):
        return f"unexpected character {str(exc.lexer_value)!r}"
    if message.startswith("Unclosed"):
        delimiter = message.split()[1]
        what = {"`": "a JSON literal", "'": "a string", '"': "a quoted field name"}.get(delimiter, "a token")
        return f"{what} opened with {delimiter} is never closed; expected a closing {delimiter}"
    if message.startswith("Bad token"):
        return f"invalid JSON literal {message.removeprefix('Bad token ')!r} between backticks"
    return f"invalid quoted field name: {message}"


def _incomplete_message(text: str) -> str:
    closers = {"lbracket": "]", "filter": "]", "lbrace": "}", "lparen": ")"}
    open_stack: list[str] = []
    for token in tokenize(text):
        kind = token["type"]
        if kind in closers:
            open_stack.append(closers[kind])
        elif kind in ("rbracket", "rbrace", "rparen") and open_stack:
            open_stack.pop()
    if open_stack:
        return f"expected a closing '{open_stack[-1]}'"
    return "the expression ends too early; something must follow"


def tokenize(text: str) -> list[dict[str, Any]]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PendingDeprecationWarning)
            return [dict(token) for token in Lexer().tokenize(text)]
    except jmespath_exceptions.JMESPathError:
        return []
