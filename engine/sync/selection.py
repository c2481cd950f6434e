"""Choosing what one ``sync`` or ``plan`` run does: some documents first (``--key``,
``--where``, ``--limit``) and record modes chosen at run time (``--mode RECORD=MODE``)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from itertools import islice

from fieldline.contracts import SourceAdapter, SourceBase, SourceDocument
from fieldline.errors import ConfigError, FieldlineError
from fieldline.expressions.compiled import FunctionRegistry, compile_expression
from fieldline.spec.model import Mode, Spec

__all__ = ["parse_modes", "select_documents", "with_modes"]


def parse_modes(spec: Spec, choices: Sequence[str]) -> dict[str, Mode]:
    """``RECORD=MODE`` choices as record name -> mode; unknown records or modes are errors that
    say what is known (and what was probably meant)."""
    names = [record.name for record in spec.records]
    modes: dict[str, Mode] = {}
    for choice in choices:
        name, equals, value = choice.partition("=")
        name, value = name.strip(), value.strip()
        if not equals or not name or not value:
            raise ConfigError(f"--mode {choice!r}: expected RECORD=MODE, e.g. company=update_only")
        if name not in names:
            close = difflib.get_close_matches(name, names, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"the spec's records: {', '.join(names)}"
            raise ConfigError(f"--mode {choice!r}: spec {spec.name!r} has no record {name!r}", hint=hint)
        try:
            modes[name] = Mode(value)
        except ValueError:
            known = [mode.value for mode in Mode]
            close = difflib.get_close_matches(value, known, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"modes: {', '.join(known)}"
            raise ConfigError(f"--mode {choice!r}: no mode {value!r}", hint=hint) from None
    return modes


def with_modes(spec: Spec, modes: dict[str, Mode]) -> Spec:
    """``spec`` with the chosen records' modes replaced (the spec file is not touched)."""
    if not modes:
        return spec
    records = tuple(
        replace(record, mode=modes[record.name]) if record.name in modes else record
        for record in spec.records
    )
    return replace(spec, records=records)


def select_documents(
    source: SourceAdapter,
    *,
    keys: Sequence[str] = (),
    where: str | None = None,
    functions: FunctionRegistry | None = None,
    limit: int | None = None,
    missing: list[str] | None = None,
) -> Iterator[SourceDocument]:
    """The documents a run reads: those of ``keys`` (fetched one by one, in order; the keys no
    document has are appended to ``missing``) or every document, kept when ``where`` (an
    expression over the document, with the spec's functions) is truthy, at most ``limit``."""
    documents: Iterable[SourceDocument] = _fetched(source, keys, missing) if keys else source.read()
    if where is not None:
        try:
            condition = compile_expression(where, functions or FunctionRegistry())
        except FieldlineError as exc:
            raise ConfigError(
                f"--where {where!r}: {exc}", hint="a JMESPath expression, e.g. industry == 'software'"
            ) from exc
        documents = (document for document in documents if _truthy(condition.search(document.data)))
    return islice(documents, limit) if limit is not None else iter(documents)


def _fetched(
    source: SourceAdapter, keys: Sequence[str], missing: list[str] | None
) -> Iterator[SourceDocument]:
    wanted = list(dict.fromkeys(keys))
    fetch: object = getattr(type(source), "fetch", None)
    if fetch is SourceBase.fetch:  # a source that cannot fetch: read, keep the keys
        found = set()
        for document in source.read():
            if document.key in wanted:
                found.add(document.key)
                yield document
        if missing is not None:
            missing.extend(key for key in wanted if key not in found)
        return
    for key in wanted:
        fetched = source.fetch(key)
        if fetched is None:
            if missing is not None:
                missing.append(key)
            continue
        yield fetched


def _truthy(value: object) -> bool:
    # JMESPath truthiness: false, null, "", [] and {} are false; 0 is true
    if value is None or value is False:
        return False
    return not (isinstance(value, str | list | dict) and not value)
