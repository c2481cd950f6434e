"""Typed mapping-spec objects.

A spec is loaded from YAML or JSON by :mod:`fieldline.spec.loader` (which keeps every position so
problems can be located) into these frozen values. They hold compiled expressions, so the
planner never parses at run time.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field as dataclass_field
from pathlib import Path
from typing import Any

from fieldline.expressions.compiled import CompiledExpression
from fieldline.values import MISSING

__all__ = [
    "AdapterSpec",
    "FieldSpec",
    "Location",
    "MatchRule",
    "Mode",
    "Nulls",
    "OnMany",
    "RecordSpec",
    "Spec",
    "Strategy",
    "Unmapped",
    "WriteBackSpec",
]

SPEC_VERSION = 1


class Mode(enum.StrEnum):
    """How a record may be written."""

    UPSERT = "upsert"  # create when no match, update when one
    UPDATE_ONLY = "update_only"  # never create
    CREATE_ONLY = "create_only"  # never touch an existing record
    DISABLED = "disabled"  # plan it, explain it, never write it


class Strategy(enum.StrEnum):
    """When one field may be written."""

    OVERRIDE = "override"  # whenever the value differs
    IF_EMPTY = "if_empty"  # only while the target field is blank (or on create)
    ON_CREATE = "on_create"  # only when the record is created


class Nulls(enum.StrEnum):
    """What a null source value does to the target field."""

    SKIP = "skip"  # a null never wipes a CRM field
    CLEAR = "clear"  # a null clears it


class OnMany(enum.StrEnum):
    """What to do when a match key finds several target records."""

    ERROR = "error"
    FIRST = "first"  # the one with the lowest target id, so the choice is deterministic
    SKIP = "skip"


class Unmapped(enum.StrEnum):
    """What a ``map`` does with a non-null value it has no entry for."""

    ERROR = "error"  # the record is reported as an error and not written
    KEEP = "keep"  # the raw value passes through
    SKIP = "skip"  # the field is left alone
    DEFAULT = "default"  # ``unmapped_value`` is written


@dataclass(frozen=True, slots=True)
class Location:
    """Where something stands in the spec file. ``line``/``col`` are 1-based."""

    file: str | None = None
    line: int | None = None
    col: int | None = None
    json_path: str = ""

    def __str__(self) -> str:
        where = self.file or "<spec>"
        if self.line is not None:
            where += f":{self.line}"
            if self.col is not None:
                where += f":{self.col}"
        return f"{where}: {self.json_path}" if self.json_path else where


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One target field and where its value comes from.

    Exactly one of ``value`` (a compiled JMESPath expression), ``const`` (a literal; ``MISSING``
    when not set) or ``ref`` (the name of an earlier record whose target id is written) is set.
    """

    name: str
    value: CompiledExpression | None = None
    const: Any = MISSING
    ref: str | None = None
    strategy: Strategy = Strategy.OVERRIDE
    map: Mapping[str, Any] | None = None
    unmapped: Unmapped = Unmapped.ERROR
    unmapped_value: Any = MISSING
    default: Any = MISSING
    nulls: Nulls = Nulls.SKIP
    location: Location = dataclass_field(default_factory=Location)

    @property
    def source_text(self) -> str:
        """A short description of the source, for plans and logs."""
        if self.ref is not None:
            return f"ref {self.ref}"
        if self.value is not None:
            return self.value.text
        return f"const {self.const!r}"


@dataclass(frozen=True, slots=True)
class MatchRule:
    """One rule of a match chain: the target ``field`` must equal the source ``value``.

    ``normalize`` names normalizers applied, in order, to both sides before comparing.
    """

    field: str
    value: CompiledExpression
    normalize: tuple[str, ...] = ()
    location: Location = dataclass_field(default_factory=Location)


@dataclass(frozen=True, slots=True)
class WriteBackSpec:
    """One value written back to the source after the record's target write succeeds: the
    target ``field``'s value (``Id``: the target id) into the source entity at ``path``."""

    path: str
    field: str
    location: Location = dataclass_field(default_factory=Location)


@dataclass(frozen=True, slots=True)
class RecordSpec:
    """One kind of target record produced from each source document (or each element of
    ``for_each``)."""

    name: str
    object: str
    fields: tuple[FieldSpec, ...]
    match: tuple[MatchRule, ...] = ()
    for_each: CompiledExpression | None = None
    when: CompiledExpression | None = None
    mode: Mode = Mode.UPSERT
    on_many: OnMany = OnMany.ERROR
    location: Location = dataclass_field(default_factory=Location)
    write_back: tuple[WriteBackSpec, ...] = ()

    def field_named(self, name: str) -> FieldSpec | None:
        for spec_field in self.fields:
            if spec_field.name == name:
                return spec_field
        return None


@dataclass(frozen=True, slots=True)
class AdapterSpec:
    """Which adapter to use and its (non-secret) options."""

    adapter: str
    options: Mapping[str, Any] = dataclass_field(default_factory=dict)
    location: Location = dataclass_field(default_factory=Location)


@dataclass(frozen=True, slots=True)
class Spec:
    """A whole mapping spec: records are planned and written in this order."""

    name: str
    records: tuple[RecordSpec, ...]
    source: AdapterSpec | None = None
    target: AdapterSpec | None = None
    version: int = SPEC_VERSION
    file: str | None = None
    lookups: Mapping[str, Any] = dataclass_field(default_factory=dict)  # name -> lookups.LookupSpec
    connections: str | None = None  # the tenants' connections file or folder, as the spec gives it

    @property
    def connections_path(self) -> Path | None:
        """The connections file or folder, relative paths taken from the spec's folder."""
        if self.connections is None:
            return None
        path = Path(self.connections).expanduser()
        if path.is_absolute() or not self.file:
            return path
        return Path(self.file).resolve().parent / path

    @property
    def write_back_paths(self) -> frozenset[str]:
        """Every source path some record writes back to."""
        return frozenset(item.path for record in self.records for item in record.write_back)

    def record_named(self, name: str) -> RecordSpec | None:
        for record in self.records:
            if record.name == name:
                return record
        return None
