"""Intents: what the spec says each target record should look like, before looking at the target.

``evaluate(spec, documents)`` (in :mod:`fieldline.planning.evaluation`) produces them; the planner compares
them with existing target records.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fieldline.spec.model import Mode, Nulls, OnMany, Strategy

__all__ = ["FieldIntent", "Intent", "MatchKey", "Ref"]


@dataclass(frozen=True, slots=True)
class Ref:
    """The target id of another intent (``record`` name + intent ``key``), known once that
    record exists. Resolved by the runner after the parent's writes return ids."""

    record: str
    key: str

    def __str__(self) -> str:
        return f"<id of {self.record} {self.key}>"


@dataclass(frozen=True, slots=True)
class MatchKey:
    """One rule of the match chain, evaluated: ``value`` is normalized, ``raw`` as read."""

    field: str
    value: Any
    raw: Any
    normalize: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FieldIntent:
    """The value one target field should get, and how it may be written.

    ``value`` may be ``MISSING`` (the source does not have it), ``None`` (null), a :class:`Ref`,
    or any JSON value. ``note`` explains a transformation (``map 'APPLIED' -> 'Applied'``,
    ``default used``) for the dry run.
    """

    field: str
    value: Any
    strategy: Strategy = Strategy.OVERRIDE
    nulls: Nulls = Nulls.SKIP
    source: str = ""
    note: str | None = None
    unmapped_skipped: bool = False  # ``unmapped: skip`` dropped the value (``note`` says which)


@dataclass(frozen=True, slots=True)
class Intent:
    """One target record the spec wants, from one source document (or one ``for_each`` element).

    ``key`` is unique per record name within a run: the document key, plus ``[i]`` per
    ``for_each`` level. ``error`` is set when evaluation failed for this record (e.g. a value
    not in ``map`` with ``unmapped: error``); the planner turns it into an ``error`` action.
    """

    record: str
    object: str
    key: str
    document_key: str
    fields: tuple[FieldIntent, ...]
    match: tuple[MatchKey, ...] = ()
    mode: Mode = Mode.UPSERT
    on_many: OnMany = OnMany.ERROR
    version: float | None = None
    error: str | None = None

    @property
    def label(self) -> str:
        return f"{self.record} {self.key}"
