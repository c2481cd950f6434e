"""SOSL ``GET /search?q=FIND {term} [IN ALL|NAME|EMAIL|PHONE FIELDS] [RETURNING Obj(fields …)] [LIMIT n]``.

Per the SOSL reference: the term matches whole words of text fields in any letter case, ``*``
stands for any characters and ``?`` for one, several words must all match, and a term needs two
characters or more. Each ``RETURNING`` object takes a field list with ``WHERE``, ``ORDER BY`` and
``LIMIT``, run here as SOQL; without ``RETURNING`` every object is searched and only ``Id`` returned.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from starlette.requests import Request
from starlette.responses import Response

from fieldline.adapters.salesforce.emulator.context import ApiFailure, Emulator, api_endpoint, json_response
from fieldline.adapters.salesforce.emulator.org import FieldDef, ObjectDef
from fieldline.adapters.salesforce.emulator.routes_query import render
from fieldline.adapters.salesforce.emulator.routes_sobjects import BASE, version_of
from fieldline.adapters.salesforce.emulator.routing import resource
from fieldline.adapters.salesforce.emulator.soql import SoqlError, compile_query
from fieldline.adapters.salesforce.emulator.store import Record
from fieldline.adapters.salesforce.emulator.validation import ApiError

__all__ = ["routes"]

MAX_SEARCH_ROWS = 2000
_SOSL = re.compile(
    r"^\s*FIND\s*\{(?P<term>(?:\\.|[^}\\])*)\}"
    r"(?:\s+IN\s+(?P<scope>ALL|NAME|EMAIL|PHONE)\s+FIELDS)?"
    r"(?:\s+RETURNING\s+(?P<returning>.+?))?"
    r"(?:\s+LIMIT\s+(?P<limit>\d+))?\s*$",
    re.IGNORECASE | re.DOTALL,
)
_SPEC = re.compile(r"^\s*(?P<obj>[A-Za-z][A-Za-z0-9_]*)\s*(?:\((?P<inner>.*)\))?\s*$", re.DOTALL)
_INNER_LIMIT = re.compile(r"\s+LIMIT\s+(\d+)\s*$", re.IGNORECASE)
_CLAUSE = re.compile(r"\s(WHERE|ORDER\s+BY)\s", re.IGNORECASE)
_WORD = re.compile(r"[\w@.+-]+")
_SCOPES: dict[str, Callable[[FieldDef], bool]] = {
    "ALL": lambda f: f.is_text,
    "NAME": lambda f: f.name_field,
    "EMAIL": lambda f: f.type == "email",
    "PHONE": lambda f: f.type == "phone",
}


def _malformed(message: str) -> ApiFailure:
    return ApiFailure(400, ApiError("MALFORMED_SEARCH", message))


def _split_top_level(text: str) -> Iterator[str]:
    """Split ``RETURNING`` entries at the commas outside parentheses."""
    depth, start = 0, 0
    for position, char in enumerate(text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            yield text[start:position]
            start = position + 1
    yield text[start:]


def _word_patterns(term: str) -> list[re.Pattern[str]]:
    words = re.sub(r"\\(.)", r"\1", term).split()
    if not words or len(term.replace("*", "").replace("?", "").strip()) < 2:
        raise ApiFailure(400, ApiError("INVALID_SEARCH", "search term must be longer than one character"))
    patterns = []
    for word in words:
        body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in word)
        patterns.append(re.compile(f"^{body}$", re.IGNORECASE))
    return patterns


def _matcher(obj: ObjectDef, scope: str, patterns: list[re.Pattern[str]]) -> Callable[[Record], bool]:
    searched = [f.name for f in obj.fields.values() if _SCOPES[scope](f)]

    def matches(record: Record) -> bool:
        words = [
            w for name in searched if isinstance(record.get(name), str) for w in _WORD.findall(record[name])
        ]
        return all(any(p.match(w) for w in words) for p in patterns)

    return matches


def _soql(obj_name: str, inner: str | None) -> tuple[str, int | None]:
    """The SOQL for one ``RETURNING`` entry, and its ``LIMIT`` (applied after matching)."""
    if not inner or not inner.strip():
        return f"SELECT Id FROM {obj_name}", None
    limit = None
    found = _INNER_LIMIT.search(inner)
    if found is not None:
        limit, inner = int(found.group(1)), inner[: found.start()]
    clause = _CLAUSE.search(f" {inner} ")
    fields, rest = (inner, "") if clause is None else (inner[: clause.start()], inner[clause.start() :])
    return f"SELECT {fields} FROM {obj_name} {rest}", limit


@api_endpoint("search")
async def search(request: Request, emu: Emulator) -> Response:
    sosl = request.query_params.get("q", "")
    parsed = _SOSL.match(sosl)
    if parsed is None:
        raise _malformed("expecting FIND {term} [IN ... FIELDS] [RETURNING ...] [LIMIT n]")
    patterns = _word_patterns(parsed["term"])
    scope = (parsed["scope"] or "ALL").upper()
    total_limit = min(int(parsed["limit"] or MAX_SEARCH_ROWS), MAX_SEARCH_ROWS)
    if parsed["returning"]:
        specs = [_SPEC.match(part) for part in _split_top_level(parsed["returning"])]
        if any(spec is None for spec in specs):
            raise _malformed(f"cannot read RETURNING {parsed['returning']}")
        entries = [(spec["obj"], spec["inner"]) for spec in specs if spec is not None]
    else:
        entries = [(obj.name, None) for obj in emu.org.objects.values()]
    version = version_of(request)
    found: list[Record] = []
    for obj_name, inner in entries:
        soql, limit = _soql(obj_name, inner)
        try:
            compiled = compile_query(emu.store, soql)
            rows = compiled.run(emu.store)
        except SoqlError as exc:
            raise ApiFailure(400, ApiError(exc.code, exc.message)) from exc
        matches = _matcher(compiled.table.obj, scope, patterns)
        hits = [r for r in rows if matches(r)][:limit]
        found.extend(render(emu.store, compiled, r, version) for r in hits)
    return json_response({"searchRecords": found[:total_limit]})


routes = resource(f"{BASE}/search", slash=True, GET=search)
