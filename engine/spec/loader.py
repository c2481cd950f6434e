"""Load a mapping spec (YAML or JSON) into typed :mod:`fieldline.spec.model` objects, keeping positions.

Public API::

    load_spec(path, *, plugin_manager=None) -> Spec            # raises SpecError(problems=[...])
    load_spec_text(text, *, file=None, plugin_manager=None) -> Spec
    check_spec_file(path, *, plugin_manager=None) -> list[Problem]   # never raises for a bad spec
    analyze_spec_text(text, *, file=None, plugin_manager=None) -> LoadResult  # spec, problems, positions

Loading runs every check (YAML syntax, the JSON Schema, expressions, references, adapters) and
collects *every* problem, each with ``file:line:col`` and a JSON path, before giving up.
"""

from __future__ import annotations

import datetime
import json
import math
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pluggy
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, TaggedScalar
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.reader import ReaderError
from ruamel.yaml.scalarstring import (
    DoubleQuotedScalarString,
    FoldedScalarString,
    LiteralScalarString,
    SingleQuotedScalarString,
)

from fieldline.errors import Problem, Severity, SpecError
from fieldline.spec.checks import SpecChecker
from fieldline.spec.json_schema import schema_problems
from fieldline.spec.limits import (
    MAX_DEPTH,
    MAX_EXPANDED_VALUES,
    LimitError,
    max_spec_bytes,
    read_bounded,
    text_problems,
)
from fieldline.spec.lookups import build_lookups
from fieldline.spec.model import (
    SPEC_VERSION,
    AdapterSpec,
    FieldSpec,
    Location,
    MatchRule,
    Mode,
    Nulls,
    OnMany,
    RecordSpec,
    Spec,
    Strategy,
    Unmapped,
    WriteBackSpec,
)
from fieldline.spec.positions import NodePosition, PathKey, PositionIndex, format_path
from fieldline.values import MISSING

__all__ = [
    "LoadResult",
    "analyze_spec_text",
    "check_spec_file",
    "load_spec",
    "load_spec_text",
    "read_spec_file",
]


@dataclass(slots=True)
class LoadResult:
    """Everything one load found: the spec (``None`` when any error was found), every problem,
    the plain data and where each node stands in the text (for checks run later, e.g.
    ``validate --against``)."""

    spec: Spec | None
    problems: list[Problem]
    data: Any = None
    positions: PositionIndex = field(default_factory=PositionIndex)

    @property
    def errors(self) -> list[Problem]:
        return [problem for problem in self.problems if problem.severity is Severity.ERROR]


def load_spec(path: str | Path, *, plugin_manager: pluggy.PluginManager | None = None) -> Spec:
    """Load and check the spec file at ``path``.

    Raises :class:`SpecError` holding every problem (an unreadable file is one problem too).
    """
    file = str(path)
    text = read_spec_file(path)
    return load_spec_text(text, file=file, plugin_manager=plugin_manager)


def load_spec_text(
    text: str, *, file: str | None = None, plugin_manager: pluggy.PluginManager | None = None
) -> Spec:
    """Load and check a spec from its text. ``file`` is only used to locate problems.

    Raises :class:`SpecError` holding every problem found.
    """
    result = analyze_spec_text(text, file=file, plugin_manager=plugin_manager)
    if result.spec is None:
        errors = result.errors
        where = file or "<spec>"
        raise SpecError(
            f"{where}: invalid mapping spec ({len(errors)} problem{'s' if len(errors) != 1 else ''})",
            problems=sorted(result.problems, key=_problem_order),
            hint="run 'fieldline validate' on it for every problem with its position",
            file=file,
        )
    return result.spec


def check_spec_file(path: str | Path, *, plugin_manager: pluggy.PluginManager | None = None) -> list[Problem]:
    """Every problem of the spec file at ``path`` (warnings included), sorted by position.

    An unreadable file is reported as one problem; nothing is raised for a bad spec.
    """
    try:
        text = read_spec_file(path)
    except SpecError as exc:
        return list(exc.problems)
    return analyze_spec_text(text, file=str(path), plugin_manager=plugin_manager).problems


def read_spec_file(path: str | Path) -> str:
    """The text of a spec file (UTF-8, BOM allowed). Raises :class:`SpecError` (code ``io``)
    for a missing, unreadable, binary or non-UTF-8 file, a directory, or anything that is not a
    regular file (a FIFO, ``/dev/zero``); code ``too-large`` for a file over the size limit
    (:func:`fieldline.spec.limits.max_spec_bytes`; a bad ``FIELDLINE_SPEC_MAX_BYTES`` is a
    :class:`~fieldline.errors.ConfigError`)."""
    file = str(path)
    limit = max_spec_bytes()
    try:
        raw = read_bounded(path, limit)
    except LimitError as exc:
        problem = exc.problem
        raise SpecError(
            f"{file}: {problem.message}", problems=[problem], hint=problem.hint, file=file
        ) from exc
    except IsADirectoryError as exc:
        raise _io_error(file, "is a directory, not a spec file", "name a .yaml, .yml or .json file") from exc
    except FileNotFoundError as exc:
        raise _io_error(file, "no such file", "check the path") from exc
    except OSError as exc:
        raise _io_error(
            file, f"cannot read the file: {exc.strerror or exc}", "check its permissions"
        ) from exc
    if b"\x00" in raw:
        raise _io_error(file, "is a binary file, not a spec", "name a YAML or JSON text file")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _io_error(
            file, f"is not UTF-8 text (byte {exc.start} cannot be decoded)", "save the spec as UTF-8"
        ) from exc


def _io_error(file: str, message: str, hint: str) -> SpecError:
    problem = Problem(message=message, file=file, hint=hint, code="io")
    return SpecError(f"{file}: {message}", problems=[problem], hint=hint, file=file)


def analyze_spec_text(
    text: str, *, file: str | None = None, plugin_manager: pluggy.PluginManager | None = None
) -> LoadResult:
    """Parse and check ``text``; build the :class:`Spec` only when no error was found.

    Never raises for a bad spec: everything wrong is in :attr:`LoadResult.problems`.
    """
    too_costly = text_problems(text, file)
    if too_costly:
        return LoadResult(None, too_costly, None, PositionIndex())
    positions = PositionIndex(text)
    strict_json = file is not None and file.lower().endswith(".json")
    if strict_json:
        tree, problems = _parse_json(text, file)
    else:
        tree, problems = _parse(text, file)
    if problems:
        return LoadResult(None, problems, None, positions)
    converter = _Converter(positions, file, exact=isinstance(tree, CommentedMap) or not strict_json)
    data = converter.convert(tree, (), None, None)
    problems.extend(converter.problems)
    if converter.problems and any(problem.code == "too-large" for problem in converter.problems):
        return LoadResult(None, problems, None, positions)
    if tree is None:
        problems.append(
            Problem(
                message="the spec is empty",
                file=file,
                line=1,
                col=1,
                hint="start with 'fieldline: 1', a 'name' and a list of 'records'",
                code="schema",
            )
        )
        return LoadResult(None, problems, data, positions)
    problems.extend(schema_problems(data, positions, file=file))
    checker = SpecChecker(data, positions, file=file, plugin_manager=_manager(plugin_manager))
    problems.extend(checker.check())
    problems.sort(key=_problem_order)
    if any(problem.severity is Severity.ERROR for problem in problems):
        return LoadResult(None, problems, data, positions)
    spec = _Builder(data, positions, checker, file).build()
    return LoadResult(spec, problems, data, positions)


def _manager(plugin_manager: pluggy.PluginManager | None) -> pluggy.PluginManager:
    if plugin_manager is not None:
        return plugin_manager
    from fieldline.plugins.manager import get_plugin_manager

    return get_plugin_manager()


def _problem_order(problem: Problem) -> tuple[str, int, int, str]:
    return (problem.file or "", problem.line or 0, problem.col or 0, problem.message)


# --- parsing -------------------------------------------------------------------------------


def _parse(text: str, file: str | None) -> tuple[Any, list[Problem]]:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. a reused anchor: legal YAML, not our problem
            return yaml.load(text), []
    except MarkedYAMLError as exc:
        return None, [_yaml_problem(exc, file)]
    except ReaderError as exc:
        line, col = _line_col(text, exc.position if isinstance(exc.position, int) else 0)
        character = exc.character if isinstance(exc.character, int) else 0
        return None, [
            Problem(
                message=f"invalid character U+{character:04X} in YAML",
                file=file,
                line=line,
                col=col,
                hint="remove it, or write it as an escape in a double-quoted string",
                code="yaml",
            )
        ]
    except YAMLError as exc:
        return None, [Problem(message=f"invalid YAML: {exc}", file=file, line=1, col=1, code="yaml")]
    except RecursionError:
        return None, [
            Problem(message="the document is nested too deeply", file=file, line=1, col=1, code="yaml")
        ]
    except Exception as exc:  # ruamel raises assorted errors on odd input: report, never crash
        return None, [Problem(message=f"cannot parse the spec: {exc}", file=file, line=1, col=1, code="yaml")]


def _line_col(text: str, index: int) -> tuple[int, int]:
    """1-based line and column of character ``index`` (YAML counts \r\n, \r and \n as breaks)."""
    before = text[:index].replace("\r\n", "\n").replace("\r", "\n")
    line = before.count("\n") + 1
    return line, len(before) - (before.rfind("\n") + 1) + 1


def _parse_json(text: str, file: str | None) -> tuple[Any, list[Problem]]:
    """A ``.json`` spec must be strict JSON (YAML would accept trailing commas, single quotes...).

    Positions still come from the YAML reader (JSON is YAML); in the rare case it refuses
    valid JSON, the JSON data is used and problems are located at the document.
    """
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        problem = Problem(
            message=f"invalid JSON: {exc.msg}",
            file=file,
            line=exc.lineno,
            col=exc.colno,
            hint="a .json spec must be strict JSON (no trailing commas, comments or single quotes)",
            code="json",
        )
        return None, [problem]
    except RecursionError:
        return None, [Problem("the document is nested too deeply", file, 1, 1, code="json")]
    tree, problems = _parse(text, file)
    return (document, []) if problems else (tree, [])


def _yaml_problem(exc: MarkedYAMLError, file: str | None) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark is not None else None
    col = mark.column + 1 if mark is not None else None
    problem_text = (exc.problem or str(exc)).strip()
    if type(exc).__name__ == "DuplicateKeyError":
        key = problem_text.split('"')[1] if problem_text.count('"') >= 2 else "?"
        first = exc.context_mark
        hint = "each key may appear once in a mapping; remove or merge the duplicate"
        if first is not None:
            hint = f"{hint} (the mapping starts at line {first.line + 1})"
        if key.lower() in ("0", "1", "true", "false"):
            hint = 'YAML reads true and 1 (false and 0) as the same key: quote map keys, e.g. "1": One'
        return Problem(
            message=f"duplicate key {key!r}", file=file, line=line, col=col, hint=hint, code="yaml"
        )
    context = (exc.context or "").strip()
    advice: str | None = None
    if context and exc.context_mark is not None:
        advice = f"{context} that starts at line {exc.context_mark.line + 1}"
    elif context:
        advice = context
    if "\\t" in problem_text or "\t" in problem_text:
        advice = "YAML indents with spaces, never tabs"
    return Problem(
        message=f"invalid YAML: {problem_text}", file=file, line=line, col=col, hint=advice, code="yaml"
    )


_STYLES: tuple[tuple[type, str], ...] = (
    (SingleQuotedScalarString, "'"),
    (DoubleQuotedScalarString, '"'),
    (LiteralScalarString, "|"),
    (FoldedScalarString, ">"),
)


class _Converter:
    """Turns the ruamel tree into plain JSON-like data, recording where every node stands."""

    def __init__(self, positions: PositionIndex, file: str | None, *, exact: bool = True) -> None:
        self.positions = positions
        self.file = file
        self.exact = exact  # False for plain JSON data: no positions inside scalars
        self.problems: list[Problem] = []
        self._active: set[int] = set()
        self._nodes = 0

    def problem(self, path: PathKey, message: str, hint: str | None = None) -> None:
        line, col = self.positions.locate(path)
        self.problems.append(
            Problem(message, self.file, line, col, format_path(path), hint=hint, code="yaml")
        )

    def convert(
        self, node: Any, path: PathKey, key_pos: tuple[int, int] | None, value_pos: tuple[int, int] | None
    ) -> Any:
        self._nodes += 1
        if self._nodes > MAX_EXPANDED_VALUES:
            if self._nodes == MAX_EXPANDED_VALUES + 1:
                self.problems.append(
                    Problem(
                        f"the spec expands to more than {MAX_EXPANDED_VALUES:,} values",
                        self.file,
                        1,
                        1,
                        hint="YAML aliases (*name) repeat what they point to; use fewer of them",
                        code="too-large",
                    )
                )
            return None
        if value_pos is None:
            lc = getattr(node, "lc", None)
            value_pos = (lc.line or 0, lc.col or 0) if lc is not None and lc.line is not None else (0, 0)
        style = None
        if isinstance(node, str) and self.exact:
            style = next((mark for kind, mark in _STYLES if isinstance(node, kind)), "")
        self.positions.add(
            path,
            NodePosition(
                line=value_pos[0],
                col=value_pos[1],
                key_line=key_pos[0] if key_pos else None,
                key_col=key_pos[1] if key_pos else None,
                style=style,
            ),
        )
        if len(path) > MAX_DEPTH:
            self.problem(path, "nested too deeply")
            return None
        if isinstance(node, dict | list):  # CommentedMap/Seq, or plain JSON data
            if id(node) in self._active:
                self.problem(path, "a YAML alias refers to itself", "remove the recursive alias")
                return None
            self._active.add(id(node))
            try:
                return self._map(node, path) if isinstance(node, dict) else self._seq(node, path)
            finally:
                self._active.discard(id(node))
        return self._scalar(node, path)

    def _map(self, node: dict[Any, Any], path: PathKey) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for raw_key, value in node.items():
            key = _key_text(raw_key)
            key_pos = _lc(node, "key", raw_key)
            value_pos = _lc(node, "value", raw_key)
            if key is None:
                self.positions.add((*path, "?"), NodePosition(*(key_pos or (0, 0))))
                self.problem((*path, "?"), "a mapping key must be a string", "quote the key")
                continue
            if key in result:
                self.positions.add((*path, key), NodePosition(*(key_pos or (0, 0))))
                self.problem(
                    (*path, key), f"duplicate key {key!r}", "keys differ only in YAML type; keep one"
                )
                continue
            result[key] = self.convert(value, (*path, key), key_pos, value_pos)
        return result

    def _seq(self, node: list[Any], path: PathKey) -> list[Any]:
        return [self.convert(item, (*path, i), None, _lc(node, "item", i)) for i, item in enumerate(node)]

    def _scalar(self, node: Any, path: PathKey) -> Any:
        if node is None or isinstance(node, bool):
            return node
        if isinstance(node, str):
            return _join_surrogates(str(node))
        if isinstance(node, int):
            return int(node)
        if isinstance(node, float):
            if math.isnan(node) or math.isinf(node):
                self.problem(path, f"{node!r} is not a JSON number", "quote it if you mean a string")
            return float(node)
        if isinstance(node, datetime.date):  # YAML timestamps: keep the text the author wrote
            return node.isoformat()
        if isinstance(node, TaggedScalar):
            self.problem(path, f"unsupported YAML tag {node.tag!s}", "remove the tag; specs are plain data")
            return node.value
        self.problem(path, f"unsupported YAML value ({type(node).__name__})", "use plain JSON-like values")
        return None


def _lc(node: dict[Any, Any] | list[Any], kind: str, key: Any) -> tuple[int, int] | None:
    lc: Any = getattr(node, "lc", None)  # ruamel's line/column record; absent on plain JSON data
    if lc is None:
        return None
    try:
        line, col = getattr(lc, kind)(key)
    except (KeyError, TypeError, AttributeError, IndexError, ValueError):
        return None  # e.g. keys merged in with '<<': their position lives elsewhere
    return (int(line), int(col)) if line is not None and col is not None else None


def _key_text(key: Any) -> str | None:
    """A mapping key as text; non-string scalars as their JSON text (``true``, ``1``)."""
    if isinstance(key, str):
        return _join_surrogates(str(key))
    if key is None or isinstance(key, bool | int):
        return json.dumps(key if isinstance(key, bool) or key is None else int(key))
    if isinstance(key, float):
        return json.dumps(float(key)) if math.isfinite(key) else str(key)
    if isinstance(key, datetime.date):
        return key.isoformat()
    return None


def _join_surrogates(text: str) -> str:
    """JSON escapes a character outside the BMP as two surrogates (``"\\ud83d\\ude00"``); the YAML
    reader keeps them apart, a JSON reader joins them. Join them, as JSON means."""
    if not _SURROGATES.search(text):
        return text
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


_SURROGATES = re.compile("[\ud800-\udfff]")


# --- building --------------------------------------------------------------------------------


class _Builder:
    """Plain, checked data -> :class:`Spec`. Runs only when no check found an error."""

    def __init__(
        self, data: Mapping[str, Any], positions: PositionIndex, checker: SpecChecker, file: str | None
    ):
        self.data = data
        self.positions = positions
        self.checker = checker
        self.file = file

    def location(self, path: PathKey, *, at_key: bool = False) -> Location:
        line, col = self.positions.locate(path, at_key=at_key)
        return Location(file=self.file, line=line, col=col, json_path=format_path(path))

    def build(self) -> Spec:
        records = tuple(self.record(raw, ("records", i)) for i, raw in enumerate(self.data["records"]))
        return Spec(
            name=self.data["name"],
            records=records,
            source=self.adapter("source"),
            target=self.adapter("target"),
            version=int(self.data.get("fieldline", SPEC_VERSION)),
            file=self.file,
            lookups=build_lookups(self.data, self.field, self.location),
            connections=self.data.get("connections"),
        )

    def adapter(self, key: str) -> AdapterSpec | None:
        raw = self.data.get(key)
        if raw is None:
            return None
        return AdapterSpec(
            adapter=raw["adapter"], options=dict(raw.get("options") or {}), location=self.location((key,))
        )

    def record(self, raw: Mapping[str, Any], path: PathKey) -> RecordSpec:
        expression = self.checker.compiled.get
        rules = tuple(
            MatchRule(
                field=rule["field"],
                value=self.checker.compiled[(*path, "match", i, "value")],
                normalize=_names(rule.get("normalize")),
                location=self.location((*path, "match", i)),
            )
            for i, rule in enumerate(raw.get("match") or ())
        )
        return RecordSpec(
            name=raw["name"],
            object=raw["object"],
            fields=tuple(
                self.field(name, value, (*path, "fields", name), defaults=raw.get("defaults") or {})
                for name, value in raw["fields"].items()
            ),
            match=rules,
            for_each=expression((*path, "for_each")),
            when=expression((*path, "when")),
            mode=Mode(raw.get("mode", Mode.UPSERT.value)),
            on_many=OnMany(raw.get("on_many", OnMany.ERROR.value)),
            location=self.location(path),
            write_back=tuple(
                WriteBackSpec(
                    path=source_path,
                    field=target_field,
                    location=self.location((*path, "write_back", source_path), at_key=True),
                )
                for source_path, target_field in (raw.get("write_back") or {}).items()
            ),
        )

    def field(
        self, name: str, raw: Any, path: PathKey, *, defaults: Mapping[str, Any] | None = None
    ) -> FieldSpec:
        """One field; ``defaults`` (the record's) give the strategy and nulls it does not set."""
        location = self.location(path, at_key=True)
        defaults = defaults or {}
        strategy = defaults.get("strategy", Strategy.OVERRIDE.value)
        nulls = defaults.get("nulls", Nulls.SKIP.value)
        if isinstance(raw, str):
            return FieldSpec(
                name=name,
                value=self.checker.compiled[path],
                strategy=Strategy(strategy),
                nulls=Nulls(nulls),
                location=location,
            )
        unmapped = raw.get("unmapped", Unmapped.ERROR.value)
        unmapped_value: Any = MISSING
        if isinstance(unmapped, Mapping):
            unmapped_value = unmapped["const"]
            unmapped = Unmapped.DEFAULT.value
        return FieldSpec(
            name=name,
            value=self.checker.compiled.get((*path, "value")),
            const=raw.get("const", MISSING),
            ref=raw.get("ref"),
            strategy=Strategy(raw.get("strategy", strategy)),
            map=dict(raw["map"]) if "map" in raw else None,
            unmapped=Unmapped(unmapped),
            unmapped_value=unmapped_value,
            default=raw.get("default", MISSING),
            nulls=Nulls(raw.get("nulls", nulls)),
            location=location,
        )


def _names(raw: Any) -> tuple[str, ...]:
    if raw is None:
        return ()
    return (raw,) if isinstance(raw, str) else tuple(raw)
