"""SOQL text to a syntax tree: the tokenizer and the recursive-descent parser.

Errors are :class:`SoqlError` carrying Salesforce's ``errorCode`` (``MALFORMED_QUERY``) and a message in
Salesforce's caret layout. What the subset covers is described in :mod:`.soql`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from fieldline.adapters.salesforce.emulator.validation import parse_datetime

__all__ = [
    "BoolOp",
    "Comparison",
    "Condition",
    "Literal",
    "Not",
    "OrderKey",
    "Query",
    "SelectItem",
    "SoqlError",
    "Text",
    "caret",
    "malformed",
    "parse",
    "tokenize",
]


class SoqlError(Exception):
    """A query Salesforce would refuse; ``code`` is its ``errorCode``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# -- tokens ------------------------------------------------------------------------------------
_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<string>'(?:[^'\\]|\\.)*')
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2}))
  | (?P<date>\d{4}-\d{2}-\d{2}(?![\d:T]))
  | (?P<number>[+-]?\d+(?:\.\d+)?)
  | (?P<dateliteral>[A-Za-z_]+:\d+)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
  | (?P<op>!=|<>|<=|>=|=|<|>)
  | (?P<punct>[(),])
    """,
    re.VERBOSE,
)
_ESCAPES = {"'": "'", '"': '"', "\\": "\\", "n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f"}


@dataclass(frozen=True, slots=True)
class Token:
    kind: str
    text: str
    pos: int


@dataclass(frozen=True, slots=True)
class Text:
    """A decoded string literal; ``pattern`` is its LIKE regex, ``like_only`` if it used ``\\%``/``\\_``."""

    value: str
    pattern: str
    like_only: bool


def _decode_string(raw: str, pos: int, soql: str) -> Text:
    body = raw[1:-1]
    value: list[str] = []
    pattern: list[str] = []
    like_only = False
    i = 0
    while i < len(body):
        char = body[i]
        if char == "\\":
            nxt = body[i + 1]
            if nxt in _ESCAPES:
                value.append(_ESCAPES[nxt])
                pattern.append(re.escape(_ESCAPES[nxt]))
                i += 2
            elif nxt in "%_":
                like_only = True
                value.append(nxt)
                pattern.append(re.escape(nxt))
                i += 2
            elif nxt == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", body[i + 2 : i + 6]):
                decoded = chr(int(body[i + 2 : i + 6], 16))
                value.append(decoded)
                pattern.append(re.escape(decoded))
                i += 6
            else:
                raise malformed(
                    soql,
                    pos + i + 1,
                    "Invalid string literal "
                    + raw
                    + ". Illegal character sequence '\\"
                    + nxt
                    + "' in string literal.",
                )
        else:
            value.append(char)
            pattern.append(".*" if char == "%" else "." if char == "_" else re.escape(char))
            i += 1
    return Text("".join(value), "".join(pattern), like_only)


def caret(soql: str, pos: int) -> str:
    return f"\n{soql}\n{' ' * pos}^\nERROR at Row:1:Column:{pos + 1}\n"


def malformed(soql: str, pos: int, detail: str) -> SoqlError:
    return SoqlError("MALFORMED_QUERY", caret(soql, pos) + detail)


def tokenize(soql: str) -> list[Token]:
    """Split ``soql`` into tokens; raises ``MALFORMED_QUERY`` on a character it cannot read."""
    tokens: list[Token] = []
    pos = 0
    while pos < len(soql):
        match = _TOKEN.match(soql, pos)
        if match is None:
            if soql[pos] == "'":
                raise malformed(
                    soql, pos, "line 1:" + str(pos) + " mismatched character '<EOF>' expecting '''"
                )
            raise malformed(soql, pos, f"unexpected token: '{soql[pos]}'")
        kind = match.lastgroup or ""
        if kind != "ws":
            tokens.append(Token(kind, match.group(), pos))
        pos = match.end()
    return tokens


# -- syntax tree ---------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Literal:
    kind: str  # string | number | boolean | null | date | datetime | dateliteral
    value: Any
    pos: int


@dataclass(frozen=True, slots=True)
class Comparison:
    path: str
    op: str  # = != < > <= >= IN NOT IN LIKE
    value: Literal | tuple[Literal, ...]
    pos: int


@dataclass(frozen=True, slots=True)
class BoolOp:
    op: str  # AND | OR
    items: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class Not:
    item: Condition


Condition = Comparison | BoolOp | Not


@dataclass(frozen=True, slots=True)
class OrderKey:
    path: str
    descending: bool
    nulls_first: bool
    pos: int


@dataclass(frozen=True, slots=True)
class SelectItem:
    path: str
    pos: int
    aggregate: str | None = None  # COUNT for COUNT(field)
    alias: str | None = None  # COUNT(Id) cnt: the result column is "cnt", not "expr0"
    subquery: Query | None = None  # (SELECT Id FROM Contacts): ``path`` is the relationship name


@dataclass(frozen=True, slots=True)
class Query:
    object_name: str
    object_pos: int
    select: tuple[SelectItem, ...]
    count_only: bool
    where: Condition | None
    order: tuple[OrderKey, ...]
    limit: int | None
    offset: int | None


_KEYWORDS = {
    "SELECT",
    "FROM",
    "WHERE",
    "AND",
    "OR",
    "NOT",
    "IN",
    "LIKE",
    "ORDER",
    "BY",
    "ASC",
    "DESC",
    "NULLS",
    "FIRST",
    "LAST",
    "LIMIT",
    "OFFSET",
    "NULL",
    "TRUE",
    "FALSE",
    "GROUP",
    "HAVING",
    "WITH",
    "FOR",
    "INCLUDES",
    "EXCLUDES",
}


class _Parser:
    def __init__(self, soql: str) -> None:
        self.soql = soql
        self.tokens = tokenize(soql)
        self.i = 0

    def peek(self, offset: int = 0) -> Token | None:
        j = self.i + offset
        return self.tokens[j] if j < len(self.tokens) else None

    def at_keyword(self, *words: str) -> bool:
        token = self.peek()
        return token is not None and token.kind == "ident" and token.text.upper() in words

    def error(self, token: Token | None = None, detail: str | None = None) -> SoqlError:
        token = token or self.peek()
        if token is None:
            return malformed(self.soql, len(self.soql), detail or "unexpected token: '<EOF>'")
        return malformed(self.soql, token.pos, detail or f"unexpected token: '{token.text}'")

    def take(self) -> Token:
        token = self.peek()
        if token is None:
            raise self.error()
        self.i += 1
        return token

    def expect_keyword(self, word: str) -> Token:
        token = self.peek()
        if token is None or token.kind != "ident" or token.text.upper() != word:
            raise self.error(token)
        return self.take()

    def expect_punct(self, char: str) -> Token:
        token = self.peek()
        if token is None or token.text != char:
            raise self.error(token)
        return self.take()

    def identifier(self) -> Token:
        token = self.peek()
        if token is None or token.kind != "ident" or token.text.upper() in _KEYWORDS:
            raise self.error(token)
        return self.take()

    def parse(self) -> Query:
        self.expect_keyword("SELECT")
        select: list[SelectItem] = []
        count_only = False
        while True:
            token = self.peek()
            if token is not None and token.kind == "ident" and token.text.upper() == "COUNT":
                nxt = self.peek(1)
                if nxt is not None and nxt.text == "(":
                    self.take()
                    self.take()
                    inner = self.peek()
                    if inner is not None and inner.text == ")":
                        self.take()
                        count_only = True
                    else:
                        path = self.identifier()
                        self.expect_punct(")")
                        select.append(SelectItem(path.text, path.pos, aggregate="COUNT", alias=self.alias()))
                else:
                    tok = self.identifier()
                    select.append(SelectItem(tok.text, tok.pos))
            elif token is not None and token.text == "(":
                select.append(self.subquery())
            else:
                tok = self.identifier()
                select.append(SelectItem(tok.text, tok.pos))
            nxt = self.peek()
            if nxt is not None and nxt.text == ",":
                self.take()
                continue
            break
        if count_only and select:
            raise self.error(None, "COUNT() cannot be combined with other fields")
        self.expect_keyword("FROM")
        obj = self.identifier()
        where = None
        if self.at_keyword("WHERE"):
            self.take()
            where = self.condition()
        order: list[OrderKey] = []
        if self.at_keyword("ORDER"):
            self.take()
            self.expect_keyword("BY")
            while True:
                tok = self.identifier()
                descending = False
                if self.at_keyword("ASC", "DESC"):
                    descending = self.take().text.upper() == "DESC"
                nulls_first = not descending
                if self.at_keyword("NULLS"):
                    self.take()
                    which = self.take()
                    if which.text.upper() not in ("FIRST", "LAST"):
                        raise self.error(which)
                    nulls_first = which.text.upper() == "FIRST"
                order.append(OrderKey(tok.text, descending, nulls_first, tok.pos))
                nxt = self.peek()
                if nxt is not None and nxt.text == ",":
                    self.take()
                    continue
                break
        limit = offset = None
        if self.at_keyword("LIMIT"):
            self.take()
            limit = self.integer()
        if self.at_keyword("OFFSET"):
            self.take()
            offset = self.integer()
            if offset > 2000:
                raise SoqlError("NUMBER_OUTSIDE_VALID_RANGE", "Maximum SOQL offset allowed is 2000")
        if self.peek() is not None:
            raise self.error()
        return Query(obj.text, obj.pos, tuple(select), count_only, where, tuple(order), limit, offset)

    def alias(self) -> str | None:
        """An aggregate's alias: an identifier that is no keyword (``FROM`` ends the list)."""
        token = self.peek()
        if token is None or token.kind != "ident" or token.text.upper() in _KEYWORDS:
            return None
        return self.take().text

    def subquery(self) -> SelectItem:
        """``(SELECT … FROM Relationship …)``: parsed on its own, the relationship as its object."""
        opening = self.expect_punct("(")
        depth = 1
        while depth:
            token = self.take()
            depth += {"(": 1, ")": -1}.get(token.text, 0) if token.kind != "string" else 0
        inner = parse(self.soql[opening.pos + 1 : token.pos])
        if any(item.subquery is not None for item in inner.select):
            raise malformed(self.soql, opening.pos, "nested subqueries are not supported")
        return SelectItem(inner.object_name, opening.pos, subquery=inner)

    def integer(self) -> int:
        token = self.take()
        if token.kind != "number" or not token.text.isdigit():
            raise self.error(token)
        return self.to_int(token, token.text)

    def to_int(self, token: Token, digits: str) -> int:
        """``int(digits)``; past Python's 4,300-digit conversion limit the query is malformed."""
        try:
            return int(digits)
        except ValueError as exc:
            raise self.error(token, f"number out of range: {token.text[:40]}") from exc

    def condition(self) -> Condition:
        return self.joined("OR", self.conjunction)

    def conjunction(self) -> Condition:
        return self.joined("AND", self.negation)

    def joined(self, keyword: str, operand: Callable[[], Condition]) -> Condition:
        """``operand (keyword operand)*``: one operand alone, several as one :class:`BoolOp`."""
        items = [operand()]
        while self.at_keyword(keyword):
            self.take()
            items.append(operand())
        return items[0] if len(items) == 1 else BoolOp(keyword, tuple(items))

    def negation(self) -> Condition:
        if self.at_keyword("NOT"):
            self.take()
            return Not(self.negation())
        token = self.peek()
        if token is not None and token.text == "(":
            self.take()
            inner = self.condition()
            self.expect_punct(")")
            return inner
        return self.comparison()

    def comparison(self) -> Comparison:
        field = self.identifier()
        token = self.peek()
        if token is None:
            raise self.error()
        if token.kind == "op":
            self.take()
            op = "!=" if token.text == "<>" else token.text
            return Comparison(field.text, op, self.literal(), field.pos)
        word = token.text.upper() if token.kind == "ident" else ""
        if word == "NOT":
            self.take()
            self.expect_keyword("IN")
            return Comparison(field.text, "NOT IN", self.literal_list(), field.pos)
        if word == "IN":
            self.take()
            return Comparison(field.text, "IN", self.literal_list(), field.pos)
        if word == "LIKE":
            self.take()
            value = self.literal()
            if value.kind != "string":
                raise self.error(None, "LIKE needs a string literal")
            return Comparison(field.text, "LIKE", value, field.pos)
        raise self.error(token)

    def literal_list(self) -> tuple[Literal, ...]:
        opening = self.peek()
        if opening is not None and opening.kind == "ident" and opening.text.upper() == "SELECT":
            raise self.error(opening, "semi-join sub-selects are not supported by the emulator")
        self.expect_punct("(")
        nxt = self.peek()
        if nxt is not None and nxt.kind == "ident" and nxt.text.upper() == "SELECT":
            raise self.error(nxt, "semi-join sub-selects are not supported by the emulator")
        values = [self.literal()]
        while True:
            token = self.take()
            if token.text == ")":
                return tuple(values)
            if token.text != ",":
                raise self.error(token)
            values.append(self.literal())

    def literal(self) -> Literal:
        token = self.take()
        if token.kind == "string":
            return Literal("string", _decode_string(token.text, token.pos, self.soql), token.pos)
        if token.kind == "number":
            number: float | int = float(token.text) if "." in token.text else self.to_int(token, token.text)
            return Literal("number", number, token.pos)
        if token.kind == "date":
            try:
                return Literal("date", date.fromisoformat(token.text), token.pos)
            except ValueError as exc:
                raise self.error(token, f"Invalid date: {token.text}") from exc
        if token.kind == "datetime":
            try:
                return Literal("datetime", parse_datetime(token.text), token.pos)
            except ValueError as exc:
                raise self.error(token, f"Invalid datetime: {token.text}") from exc
        if token.kind == "dateliteral":
            name, _, number_text = token.text.partition(":")
            if name.upper() not in ("LAST_N_DAYS", "NEXT_N_DAYS"):
                raise self.error(token, f"Invalid date literal: {token.text}")
            return Literal("dateliteral", (name.upper(), self.to_int(token, number_text)), token.pos)
        if token.kind == "ident":
            word = token.text.upper()
            if word in ("TRUE", "FALSE"):
                return Literal("boolean", word == "TRUE", token.pos)
            if word == "NULL":
                return Literal("null", None, token.pos)
            if word in ("TODAY", "YESTERDAY", "TOMORROW"):
                return Literal("dateliteral", (word, 0), token.pos)
        raise self.error(token)


def parse(soql: str) -> Query:
    """Parse ``soql``; raises :class:`SoqlError` (``MALFORMED_QUERY``) when it is not valid."""
    return _Parser(soql.strip()).parse()
