"""Bounds on what a spec may cost to read: file kind and size, values, nesting, list lengths.

A spec is a few kilobytes written by hand; the YAML reader costs about 0.1 ms per value, so an
unbounded input (a 2 MB list of a million items, ``/dev/zero``, a FIFO nobody writes to) would
hold ``validate``, ``plan``, ``sync`` or ``serve`` for minutes or forever. Everything here
refuses such input early, with a located problem that names the limit and how to raise it.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.events import (
    AliasEvent,
    CollectionEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceStartEvent,
)

from fieldline.errors import ConfigError, Problem

__all__ = [
    "DEFAULT_MAX_BYTES",
    "MAX_BYTES_VARIABLE",
    "MAX_DEPTH",
    "MAX_EXPANDED_VALUES",
    "MAX_LIST_ITEMS",
    "MAX_VALUES",
    "LimitError",
    "max_spec_bytes",
    "read_bounded",
    "text_problems",
    "too_large",
]

MAX_BYTES_VARIABLE = "FIELDLINE_SPEC_MAX_BYTES"
DEFAULT_MAX_BYTES = 1 << 20  # 1 MiB: a hand-written spec is a few KB; 1 MiB takes ~1 s to check
MAX_VALUES = 10_000  # values written in the text (the reader's cost grows with them)
MAX_EXPANDED_VALUES = 50_000  # values after YAML aliases (*name) are expanded ("billion laughs")
MAX_LIST_ITEMS = 2_000  # items of one list (records, match rules, ...)
MAX_DEPTH = 64  # a spec is a few levels deep; deeper nesting is a mistake (or an attack)

_RAISE_HINT = f"split it into several specs, or raise the limit with {MAX_BYTES_VARIABLE}=<bytes>"


class LimitError(Exception):
    """The input breaks a limit or is not a regular file; carries the problem to report."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


def max_spec_bytes(environ: Mapping[str, str] | None = None) -> int:
    """The size limit for one spec: ``FIELDLINE_SPEC_MAX_BYTES`` or 1 MiB.

    Raises :class:`~fieldline.errors.ConfigError` when the variable is not a positive number.
    """
    env = os.environ if environ is None else environ
    raw = env.get(MAX_BYTES_VARIABLE, "").strip()
    if not raw:
        return DEFAULT_MAX_BYTES
    try:
        value = int(raw.replace("_", ""))
    except ValueError:
        value = 0
    if value <= 0:
        raise ConfigError(
            f"{MAX_BYTES_VARIABLE}={raw!r} is not a positive number of bytes",
            hint=f"set it to e.g. {4 * DEFAULT_MAX_BYTES} (4 MiB), or unset it for 1 MiB",
        )
    return value


def _size(count: int) -> str:
    if count >= 1 << 20:
        return f"{count / (1 << 20):.1f} MiB".replace(".0 MiB", " MiB")
    if count >= 1 << 10:
        return f"{count / (1 << 10):.1f} KiB".replace(".0 KiB", " KiB")
    return f"{count} bytes"


def too_large(file: str | None, size: str | None, limit: int) -> Problem:
    """The problem for a spec of ``size`` (text such as "11.6 MiB", if known) over ``limit``."""
    return Problem(
        f"the spec is {size}, over the limit of {_size(limit)} ({limit:,} bytes)"
        if size
        else f"the spec is larger than the limit of {_size(limit)} ({limit:,} bytes)",
        file=file,
        line=1,
        col=1,
        hint=_RAISE_HINT,
        code="too-large",
    )


_KINDS = (
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def read_bounded(path: str | Path, limit: int) -> bytes:
    """The bytes of the regular file ``path``, at most ``limit`` of them.

    Opened without blocking (a FIFO with no writer would block ``open`` forever) and checked
    to be a regular file before anything is read (``/dev/zero`` never ends). Raises
    :class:`LimitError` for anything else or a file over ``limit``, ``OSError`` as ``open`` does.
    """
    file = str(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    descriptor = os.open(path, flags)
    with os.fdopen(descriptor, "rb") as stream:
        info = os.fstat(descriptor)
        mode = info.st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(21, "Is a directory", file)
        if not stat.S_ISREG(mode):
            kind = next((name for test, name in _KINDS if test(mode)), "not a regular file")
            raise LimitError(
                Problem(
                    f"is {kind}, not a regular file; a spec is read from a file",
                    file=file,
                    hint="name a .yaml, .yml or .json file (for a pipe, use 'fieldline validate -')",
                    code="io",
                )
            )
        raw = stream.read(limit + 1)  # the file may have grown since fstat
    if len(raw) > limit:
        raise LimitError(too_large(file, _size(max(info.st_size, len(raw))), limit))
    return raw


def text_problems(text: str, file: str | None, limit: int | None = None) -> list[Problem]:
    """Problems that make ``text`` too costly to load: its size, how many values it holds, how
    deep it nests, how long its lists are. Empty when it is within bounds (or is not YAML at
    all: the parser reports that with its own message).

    Walks the YAML event stream and stops at the first limit crossed, so the cost is bounded
    by the limits, not by the input.
    """
    limit = max_spec_bytes() if limit is None else limit
    if len(text) > limit or len(text.encode("utf-8", "surrogatepass")) > limit:
        return [too_large(file, None, limit)]
    walk = _Walk()
    try:
        for event in YAML(typ="rt").parse(text):
            crossed = walk.step(event)
            if crossed is not None:
                return [_at(event, file, *crossed)]
    except Exception:  # not YAML (or not within what ruamel reads): the parser says why, located
        return []
    return []


class _Walk:
    """Counts values, list items and depth along a YAML event stream."""

    def __init__(self) -> None:
        self.values = 0
        self.open: list[int | None] = []  # per open collection: items so far (None: a mapping)

    def step(self, event: Any) -> tuple[str, str] | None:
        """The (message, hint) of the limit ``event`` crosses, if any."""
        if isinstance(event, CollectionEndEvent):
            self.open.pop()
            return None
        if not isinstance(event, ScalarEvent | AliasEvent | MappingStartEvent | SequenceStartEvent):
            return None
        self.values += 1
        if self.values > MAX_VALUES:
            return f"the spec holds more than {MAX_VALUES:,} keys and values", _VALUES_HINT
        if self.open and self.open[-1] is not None:
            self.open[-1] += 1
            if self.open[-1] > MAX_LIST_ITEMS:
                return f"a list holds more than {MAX_LIST_ITEMS:,} items", _VALUES_HINT
        if isinstance(event, MappingStartEvent | SequenceStartEvent):
            self.open.append(0 if isinstance(event, SequenceStartEvent) else None)
            if len(self.open) > MAX_DEPTH:
                return (
                    f"the spec nests more than {MAX_DEPTH} levels deep",
                    "a spec is a few levels deep; flatten the nesting",
                )
        return None


_VALUES_HINT = (
    "a spec is written by hand and holds a few thousand values at most; "
    "split it into several specs (this limit cannot be raised)"
)


def _at(event: Any, file: str | None, message: str, hint: str) -> Problem:
    mark = getattr(event, "start_mark", None)
    line = mark.line + 1 if mark is not None else 1
    col = mark.column + 1 if mark is not None else 1
    return Problem(message, file=file, line=line, col=col, hint=hint, code="too-large")
