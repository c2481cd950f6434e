"""Semantic checks of a mapping spec, beyond what the JSON Schema can say.

:class:`SpecChecker` walks the plain spec data (which may be partly invalid: the schema problems
are reported separately, and every check here skips what has the wrong shape) and reports, each
located with ``file:line:col``, a JSON path and a hint:

- expressions that do not compile (``value``, ``when``, ``for_each``, match values), pointing at
  the exact character, and unknown functions;
- duplicate record names; a ``ref`` to an unknown, later or the same record; ``map`` with ``ref``;
  ``unmapped`` without ``map``;
- match fields neither mapped under ``fields`` nor ``Id``; unknown normalizers;
- unknown adapters and adapter ``options`` that fail the adapter's own schema;
- warnings for settings that can never take effect (``on_create`` on an ``update_only`` record...).

It also keeps every expression it compiled, so the loader builds the spec without parsing twice.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import pluggy

from fieldline.contracts import AdapterInfo, AdapterKind
from fieldline.errors import ExpressionError, Problem, Severity
from fieldline.expressions.compiled import CompiledExpression, FunctionRegistry, compile_expression
from fieldline.spec.collector import ProblemCollector
from fieldline.spec.hints import did_you_mean, one_of
from fieldline.spec.json_schema import schema_problems
from fieldline.spec.lookups import check_lookups
from fieldline.spec.positions import PathKey, PositionIndex
from fieldline.spec.source_paths import plain_paths

__all__ = ["SpecChecker"]

_CREATING_MODES = ("upsert", "create_only")
_UPDATING_MODES = ("upsert", "update_only")


class SpecChecker(ProblemCollector):
    """Semantic checks of one spec document. Call :meth:`check` once."""

    def __init__(
        self,
        data: Any,
        positions: PositionIndex,
        *,
        file: str | None,
        plugin_manager: pluggy.PluginManager,
    ) -> None:
        from fieldline.plugins.manager import adapter_registry, function_registry, normalizer_registry

        super().__init__(positions, file=file, code="invalid")
        self.data = data
        self.functions: FunctionRegistry = function_registry(plugin_manager)
        self.normalizers: Mapping[str, Callable[[Any], Any]] = normalizer_registry(plugin_manager)
        self.adapters: Mapping[tuple[str, AdapterKind], AdapterInfo] = adapter_registry(plugin_manager)
        self.compiled: dict[PathKey, CompiledExpression] = {}
        self._source: Any = None  # built on first need, to ask about write_back paths

    def warn(self, path: PathKey, message: str, *, hint: str | None = None, at_key: bool = False) -> None:
        """A setting that can never take effect: reported, but the spec stays valid."""
        self.report(path, message, hint=hint, at_key=at_key, code="ineffective", severity=Severity.WARNING)

    # --- the walk ----------------------------------------------------------------------------

    def check(self) -> list[Problem]:
        """Run every check; returns (and keeps in :attr:`problems`) what was found."""
        if not isinstance(self.data, Mapping):
            return self.problems
        for kind in AdapterKind:
            self.check_adapter(kind)
        records = self.data.get("records")
        if isinstance(records, list):
            names = self.check_record_names(records)
            for i, record in enumerate(records):
                if isinstance(record, Mapping):
                    self.check_record(record, ("records", i), i, names)
        check_lookups(self, self.data)
        self.check_source_paths()
        if self._source is not None:
            self._source.close()
        return self.problems

    def expression(self, path: PathKey, text: Any) -> CompiledExpression | None:
        """Compile the expression at ``path``; report where exactly it is wrong."""
        if not isinstance(text, str) or not text:
            return None  # the schema reports wrong types and empty strings
        try:
            compiled = compile_expression(text, self.functions)
        except ExpressionError as exc:
            offset = exc.position if isinstance(exc.position, int) else 0
            self.report(
                path,
                exc.message,
                hint=exc.hint,
                code="expression",
                position=self.positions.locate_in_scalar(path, text, offset),
            )
            return None
        except Exception as exc:  # a failing expression engine must not crash validation
            self.report(path, f"cannot compile the expression: {exc}", code="expression")
            return None
        unknown = self.unknown_function(path, text, compiled)
        if unknown:
            return None
        self.compiled[path] = compiled
        return compiled

    def unknown_function(self, path: PathKey, text: str, compiled: CompiledExpression) -> bool:
        # compile_expression is expected to reject unknown functions itself; this keeps the
        # guarantee for registries whose compile step does not.
        known = self.functions.names
        found = False
        for name in _function_names(compiled.parsed):
            if name in known:
                continue
            found = True
            offset = max(text.find(f"{name}("), 0)
            self.report(
                path,
                f"unknown function '{name}()'",
                hint=(
                    did_you_mean(name, known, ignore_case=False)
                    or "see 'docs/functions.md' for the functions"
                ),
                code="expression",
                position=self.positions.locate_in_scalar(path, text, offset),
            )
        return found

    def check_adapter(self, kind: AdapterKind) -> None:
        key = kind.value
        raw = self.data.get(key)
        if not isinstance(raw, Mapping) or not isinstance(raw.get("adapter"), str) or not raw["adapter"]:
            return
        name: str = raw["adapter"]
        path: PathKey = (key, "adapter")
        info = self.adapters.get((name, kind))
        if info is None:
            installed = sorted(adapter for adapter, adapter_kind in self.adapters if adapter_kind is kind)
            other = next((k for k in AdapterKind if k is not kind and (name, k) in self.adapters), None)
            if other is not None:
                self.report(
                    path,
                    f"{name!r} is a {other.value} adapter, not a {kind.value} adapter",
                    hint=f"installed {kind.value} adapters: {', '.join(installed) or 'none'}",
                    code="adapter",
                )
                return
            hint = did_you_mean(name, installed)
            listing = (
                f"installed {kind.value} adapters: {', '.join(installed)}"
                if installed
                else f"no {kind.value} adapter is installed"
            )
            self.report(
                path,
                f"unknown {kind.value} adapter {name!r}",
                hint=f"{hint} {listing}" if hint else listing,
                code="adapter",
            )
            return
        options = raw.get("options", {})
        if not isinstance(options, Mapping):
            return  # the schema reports it
        try:
            problems = schema_problems(
                options,
                self.positions,
                file=self.file,
                schema=info.options_schema,
                base=(key, "options"),
                what=f"see the options of the {name!r} adapter",
            )
        except Exception as exc:  # a plugin's broken schema must not crash validate
            self.report(
                (key, "options"),
                f"cannot check options: the {name!r} adapter has an invalid options schema ({exc})",
                hint="report this to the adapter's authors",
                code="adapter",
            )
            return
        self.problems.extend(replace(problem, code="options") for problem in problems)

    def check_record_names(self, records: list[Any]) -> list[str | None]:
        """Each record's name (``None`` where missing); duplicates reported on the later one."""
        names: list[str | None] = []
        first_seen: dict[str, int] = {}
        for i, record in enumerate(records):
            name = record.get("name") if isinstance(record, Mapping) else None
            names.append(name if isinstance(name, str) else None)
            if not isinstance(name, str):
                continue
            if name in first_seen:
                line, _ = self.positions.locate(("records", first_seen[name], "name"))
                self.report(
                    ("records", i, "name"),
                    f"duplicate record name {name!r}",
                    hint=f"record names must be unique; records[{first_seen[name]}] (line {line}) has it too",
                    code="reference",
                )
            else:
                first_seen[name] = i
        return names

    def check_record(
        self, record: Mapping[str, Any], path: PathKey, index: int, names: list[str | None]
    ) -> None:
        self.expression((*path, "when"), record.get("when"))
        self.expression((*path, "for_each"), record.get("for_each"))
        mode = record.get("mode", "upsert")
        fields = record.get("fields")
        field_names = list(fields) if isinstance(fields, Mapping) else []
        if isinstance(fields, Mapping):
            self.check_field_names(field_names, (*path, "fields"))
            for name, field in fields.items():
                self.check_field(field, (*path, "fields", name), index, names, mode)
        match = record.get("match")
        if isinstance(match, list):
            self.check_match_rules(
                match, (*path, "match"), field_names, fields_known=isinstance(fields, Mapping), mode=mode
            )
        has_match = isinstance(match, list) and bool(match)
        if "on_many" in record and not has_match:
            self.warn(
                (*path, "on_many"),
                "on_many has no effect: the record has no match rules",
                hint="add match rules, or remove on_many",
                at_key=True,
            )
        if mode == "update_only" and not has_match:
            self.warn(
                (*path, "mode"),
                "an update_only record without match rules never finds a record to update",
                hint="add match rules, e.g. match: [{field: Id, value: crm_id}]",
            )
        if isinstance(match, list) and match and mode in ("upsert", "create_only"):
            self.check_id_only_match(match, path, record)
        write_back = record.get("write_back")
        if isinstance(write_back, Mapping):
            self.check_write_back(write_back, (*path, "write_back"), record, field_names)

    def check_id_only_match(self, rules: list[Any], path: PathKey, record: Mapping[str, Any]) -> None:
        """Warn when the only match rules are on ``Id`` and the source is never told the id: a
        document without it creates a new record on every run."""
        fields = [rule.get("field") for rule in rules if isinstance(rule, Mapping)]
        if not fields or any(not isinstance(name, str) or name.lower() != "id" for name in fields):
            return
        write_back = record.get("write_back")
        if isinstance(write_back, Mapping) and any(
            isinstance(field, str) and field.lower() == "id" for field in write_back.values()
        ):
            return  # the id goes back to the source, so the next run finds the record
        self.warn(
            (*path, "match"),
            "the only match rule is on Id: a document that does not carry the target's id creates "
            "a new record on every run",
            hint="add a rule on a field the source knows (an external id, e.g. "
            "{field: Profile_Id__c, value: id}), or write the Id back to the source (write_back)",
            at_key=True,
        )

    def check_write_back(
        self, write_back: Mapping[str, Any], path: PathKey, record: Mapping[str, Any], field_names: list[str]
    ) -> None:
        """Each value comes from a target field the record knows, into a path the source accepts."""
        if "for_each" in record:
            self.report(
                path,
                "write_back needs one target record per source document, but this record has for_each",
                hint="move write_back to a record without for_each",
                at_key=True,
            )
        known = {name.casefold() for name in field_names} | {"id"}
        for source_path, target_field in write_back.items():
            if isinstance(target_field, str) and target_field.casefold() not in known:
                self.report(
                    (*path, source_path),
                    f"write_back takes {target_field!r}, which this record neither writes nor is its Id",
                    hint=f"use Id or one of the record's fields: {', '.join(field_names) or 'none'}",
                )
            problem = self.source_write_back_problem(str(source_path))
            if problem is not None:
                self.report((*path, source_path), problem, hint="remove this write_back", at_key=True)

    def source_write_back_problem(self, source_path: str) -> str | None:
        """Ask the spec's source adapter (built without any network call) whether it takes a
        write-back to ``source_path``."""
        raw = self.data.get("source")
        if not isinstance(raw, Mapping) or not isinstance(raw.get("adapter"), str):
            return "write_back needs a source adapter to write to; the spec has none"
        source, problem = self.built_source()
        if problem is not None:
            return f"cannot ask the {raw['adapter']!r} source whether it can be written: {problem}"
        if source is None:
            return None  # reported as an unknown adapter already
        answer: str | None = source.write_back_problem(source_path)
        return answer

    def built_source(self) -> tuple[Any, str | None]:
        """The spec's source adapter, built once without a network call, or why it cannot be
        (``(None, None)``: no known source adapter, reported elsewhere)."""
        raw = self.data.get("source")
        if not isinstance(raw, Mapping) or not isinstance(raw.get("adapter"), str):
            return None, None
        info = self.adapters.get((raw["adapter"], AdapterKind.SOURCE))
        if info is None:
            return None, None
        if self._source is None:
            from fieldline.contracts import AdapterContext
            from fieldline.errors import FieldlineError

            folder = Path(self.file).resolve().parent if self.file else Path.cwd()
            options = raw.get("options")
            try:
                self._source = info.factory(
                    dict(options) if isinstance(options, Mapping) else {},
                    AdapterContext(spec_folder=folder, functions=self.functions),
                )
            except FieldlineError as exc:
                return None, str(exc)
        return self._source, None

    def check_source_paths(self) -> None:
        """Ask a source that can tell (``field_path_problem``, e.g. from closed JSON Schemas)
        whether each plain path a record reads can hold a value; the source's own setup
        problems (an invalid event schema) are reported at ``source.options``."""
        if not any(path[:1] == ("records",) for path in self.compiled) or self.problems:
            return  # nothing read, or the spec is already wrong: no adapter is built for it
        source, problem = self.built_source()
        if problem is not None:
            self.report(("source", "options"), problem, code="source", at_key=True)
            return
        ask = getattr(source, "field_path_problem", None)
        if ask is None:
            return
        records = self.data.get("records")
        for path, compiled in self.compiled.items():
            if path[:1] != ("records",) or len(path) < 3 or not isinstance(records, list):
                continue
            record = records[path[1]] if isinstance(path[1], int) and path[1] < len(records) else None
            if isinstance(record, Mapping) and "for_each" in record and path[2] != "for_each":
                continue  # read from each element, not from the document
            for field_path in dict.fromkeys(plain_paths(compiled.parsed)):
                answer = ask(field_path)
                if answer is not None:
                    self.report(
                        path, f"{field_path}: {answer}", hint="fix the path or the schema", code="source_path"
                    )

    def check_match_rules(
        self, rules: list[Any], path: PathKey, field_names: list[str], *, fields_known: bool, mode: Any
    ) -> None:
        seen: dict[str, int] = {}
        for i, rule in enumerate(rules):
            if not isinstance(rule, Mapping):
                continue
            self.check_match_rule(rule, (*path, i), field_names, fields_known=fields_known, mode=mode)
            # An identical later rule can only look for what the earlier one did not find.
            signature = repr(sorted((str(key), repr(value)) for key, value in rule.items()))
            if signature in seen:
                self.warn(
                    (*path, i),
                    f"match rule {i} repeats rule {seen[signature]}, so it never finds a record",
                    hint="remove it",
                )
            else:
                seen[signature] = i

    def check_field_names(self, names: list[str], path: PathKey) -> None:
        seen: dict[str, str] = {}
        for name in names:
            folded = name.casefold()
            if folded in seen:
                self.warn(
                    (*path, name),
                    f"{name!r} and {seen[folded]!r} name the same field in a case-insensitive target "
                    "(such as Salesforce)",
                    hint="keep one of them",
                    at_key=True,
                )
            else:
                seen[folded] = name

    def check_field(self, field: Any, path: PathKey, index: int, names: list[str | None], mode: Any) -> None:
        if isinstance(field, str):
            self.expression(path, field)
            return
        if not isinstance(field, Mapping):
            return
        self.expression((*path, "value"), field.get("value"))
        ref = field.get("ref")
        if isinstance(ref, str) and ref:
            self.check_ref(ref, (*path, "ref"), index, names)
            if "map" in field:
                self.report(
                    (*path, "map"),
                    "map cannot be used with ref",
                    hint="a ref writes the referenced record's target id; remove map",
                    at_key=True,
                )
        if "unmapped" in field and "map" not in field:
            self.report(
                (*path, "unmapped"),
                "unmapped has no map to apply to",
                hint="add a map, or remove unmapped",
                at_key=True,
            )
        strategy = field.get("strategy")
        if strategy == "on_create" and mode == "update_only":
            self.warn(
                (*path, "strategy"),
                "strategy on_create never takes effect: mode update_only never creates the record",
                hint="remove the strategy (or the field), or change the record's mode",
            )
        if "const" in field and field.get("const") is not None:
            for option in ("default", "nulls"):
                if option in field:
                    self.warn(
                        (*path, option),
                        f"{option} never takes effect: a non-null const is never missing or null",
                        hint=f"remove {option}",
                        at_key=True,
                    )

    def check_ref_scope(self, ref: str, path: PathKey, parent_index: int, index: int) -> None:
        """A ``ref`` needs its parent's record for the same document (and element)."""
        parent = self.data["records"][parent_index]
        child = self.data["records"][index]
        if not isinstance(parent, Mapping):
            return
        parent_when = parent.get("when")
        if isinstance(parent_when, str) and parent_when and child.get("when") != parent_when:
            self.warn(
                path,
                f"ref {ref!r} names a record with a when condition; for documents where it is "
                "false this record fails (its parent has no record)",
                hint=f"give this record the same when ({parent_when}), or drop the parent's when",
            )
        # A for_each parent has one record per element: only a child iterating the same
        # elements can tell which one it means.
        parent_each = parent.get("for_each")
        if isinstance(parent_each, str) and parent_each and child.get("for_each") != parent_each:
            self.report(
                path,
                f"ref {ref!r} names a for_each record; only a record with the same for_each "
                f"({parent_each!r}) can ref it",
                hint=f"give this record 'for_each: {parent_each}', or ref a record without for_each",
                code="reference",
            )

    def check_ref(self, ref: str, path: PathKey, index: int, names: list[str | None]) -> None:
        own = names[index]
        if ref == own:
            self.report(
                path,
                f"record {ref!r} cannot ref itself",
                hint="a ref names an earlier record",
                code="reference",
            )
            return
        if ref in names:
            parent_index = names.index(ref)
            if parent_index > index:
                self.report(
                    path,
                    f"ref {ref!r} names a later record (records[{parent_index}])",
                    hint=f"move {ref!r} above {own!r}: parents are written before their children",
                    code="reference",
                )
            else:
                self.check_ref_scope(ref, path, parent_index, index)
            return
        earlier = [name for name in names[:index] if name is not None]
        suggestion = did_you_mean(ref, [name for name in names if name is not None and name != own])
        listing = f"earlier records: {', '.join(earlier)}" if earlier else "no record comes before this one"
        self.report(
            path,
            f"unknown record {ref!r}",
            hint=suggestion or listing,
            code="reference",
        )

    def check_match_rule(
        self, rule: Mapping[str, Any], path: PathKey, field_names: list[str], *, fields_known: bool, mode: Any
    ) -> None:
        self.expression((*path, "value"), rule.get("value"))
        target_field = rule.get("field")
        # A created record must carry its match key, or the next sync would not find it and
        # create a duplicate. Update-only records may match on fields they never write.
        if (
            isinstance(target_field, str)
            and target_field
            and fields_known
            and mode in _CREATING_MODES
            and target_field != "Id"
            and target_field not in field_names
        ):
            suggestion = did_you_mean(target_field, [*field_names, "Id"])
            self.report(
                (*path, "field"),
                f"match field {target_field!r} is not mapped under fields, so records this spec "
                "creates would not be found again",
                hint=suggestion
                or f"map {target_field!r} under fields too, match on Id, or use mode: update_only",
                code="reference",
            )
        normalize = rule.get("normalize")
        if isinstance(normalize, str):
            self.check_normalizer(normalize, (*path, "normalize"))
        elif isinstance(normalize, list):
            for i, name in enumerate(normalize):
                if isinstance(name, str):
                    self.check_normalizer(name, (*path, "normalize", i))

    def check_normalizer(self, name: str, path: PathKey) -> None:
        if not name or name in self.normalizers:
            return
        installed = sorted(self.normalizers)
        suggestion = did_you_mean(name, installed)
        listing = f"installed normalizers: {one_of(installed)}"
        self.report(
            path,
            f"unknown normalizer {name!r}",
            hint=suggestion or listing,
            code="reference",
        )


def _function_names(node: Any) -> list[str]:
    """Every function called in a parsed JMESPath tree."""
    names: list[str] = []
    stack = [node]
    while stack:
        current = stack.pop()
        if not isinstance(current, dict):
            continue
        if current.get("type") == "function_expression" and isinstance(current.get("value"), str):
            names.append(current["value"])
        children = current.get("children")
        if isinstance(children, list):
            stack.extend(children)
    return sorted(set(names))
