"""The run log and the sync state: the :class:`RunStore` contract and its values.

Run log: one entry per processed record (or per settled job when nothing was written): when,
which source and entity, which events, which spec record and key, what action, the target id,
the fields written (credentials redacted) and the error, if any. ``fieldline logs`` reads it.

Sync state: the newest applied event time (``occurred_at``) per ``(source, ordering key)``
(:attr:`fieldline.contracts.SourceEvent.version_keys`), so an event older than what was already
applied for any of its keys is completed as ``stale`` without writing — for every source.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TypedDict, runtime_checkable

from fieldline.config import Secret

__all__ = ["REDACTED", "RunLogEntry", "RunLogJSON", "RunStore", "is_secret_key", "redact"]

REDACTED = "***"

# Keys whose values are credentials wherever they appear (webhook bodies, payloads, options).
_SECRET_KEY = re.compile(
    r"(secret|password|passwd|token|api[_-]?key|authorization|private[_-]?key|credential)", re.IGNORECASE
)


def redact(value: Any) -> Any:
    """``value`` with every credential-looking key's value replaced by ``'***'``, at any depth.

    Mappings become dicts and sequences lists. Ordinary documents are copied recursively (the
    fast way); below :data:`_RECURSION_DEPTH` levels the rest is walked with an explicit stack,
    so a hostile document nested thousands of levels deep is redacted like any other (no
    ``RecursionError`` outside the caller's error handling).
    """
    return _redact(value, 0)


_RECURSION_DEPTH = 40
_SCALARS = (str, int, float, bool, type(None))


@functools.lru_cache(maxsize=4096)
def _is_secret_key(key: str) -> bool:
    return _SECRET_KEY.search(key) is not None


def is_secret_key(key: str) -> bool:
    """Whether a field or key named ``key`` holds credentials (its values are never logged)."""
    return _is_secret_key(key)


def _redact(value: Any, depth: int) -> Any:
    kind = type(value)
    if kind in _SCALARS:
        return value
    if depth > _RECURSION_DEPTH:
        return _redact_iteratively(value)
    if kind is dict:  # the usual case, without the ABC checks; scalars are kept without a call
        return {
            key: REDACTED
            if isinstance(key, str) and _is_secret_key(key)
            else child
            if type(child) in _SCALARS
            else _redact(child, depth + 1)
            for key, child in value.items()
        }
    if isinstance(value, Secret):
        return REDACTED
    if isinstance(value, Mapping):
        return {
            key: REDACTED if isinstance(key, str) and _is_secret_key(key) else _redact(child, depth + 1)
            for key, child in value.items()
        }
    if isinstance(value, list | tuple):
        return [_redact(child, depth + 1) for child in value]
    return value


def _redact_iteratively(value: Any) -> Any:
    root: list[Any] = [None]
    # (original value, container to fill, index or key in it)
    stack: list[tuple[Any, Any, Any]] = [(value, root, 0)]
    while stack:
        item, container, slot = stack.pop()
        if isinstance(item, Secret):
            container[slot] = REDACTED
        elif isinstance(item, Mapping):
            copy: dict[Any, Any] = {}
            container[slot] = copy
            for key, child in item.items():
                if isinstance(key, str) and _is_secret_key(key):
                    copy[key] = REDACTED
                else:
                    copy[key] = None  # keeps the key order; filled from the stack
                    stack.append((child, copy, key))
        elif isinstance(item, list | tuple):
            items: list[Any] = [None] * len(item)
            container[slot] = items
            stack.extend((child, items, index) for index, child in enumerate(item))
        else:
            container[slot] = item
    return root[0]


class RunLogJSON(TypedDict):
    id: int
    at: float
    source: str
    entity: str
    event_ids: list[str]
    job_ids: list[int]
    record: str | None
    key: str | None
    object: str | None
    action: str
    target_id: str | None
    written: dict[str, Any]
    error: str | None


@dataclass(frozen=True, slots=True)
class RunLogEntry:
    """One line of the run log. ``action`` is the plan's (``create``, ``update``, ``noop``,
    ``skip``, ``error``) or the worker's own (``stale``, ``gone``, ``ignored``, ``retry``, ``dead``,
    ``paused``). ``source`` is the queue the job came from (empty for entries of older files)."""

    entity_key: str
    action: str
    source: str = ""
    event_ids: tuple[str, ...] = ()
    job_ids: tuple[int, ...] = ()
    record: str | None = None
    key: str | None = None
    object: str | None = None
    target_id: str | None = None
    written: Mapping[str, Any] = field(default_factory=dict)
    error: str | None = None
    at: float = 0.0
    id: int = 0

    def as_json(self) -> RunLogJSON:
        return {
            "id": self.id,
            "at": self.at,
            "source": self.source,
            "entity": self.entity_key,
            "event_ids": list(self.event_ids),
            "job_ids": list(self.job_ids),
            "record": self.record,
            "key": self.key,
            "object": self.object,
            "action": self.action,
            "target_id": self.target_id,
            "written": dict(self.written),
            "error": self.error,
        }


@runtime_checkable
class RunStore(Protocol):
    """Run log + sync state. Backends keep it beside their queue (:mod:`fieldline.queue.storage`)."""

    def record(
        self, entries: Iterable[RunLogEntry], *, source: str = "", applied: Mapping[str, float] | None = None
    ) -> None:
        """Append log entries and raise ``source``'s applied versions (ordering key -> newest
        applied event time), in one transaction. Versions only ever move forward."""
        ...

    def applied_versions(self, source: str, keys: Iterable[str]) -> dict[str, float]:
        """The newest applied event time of each given ordering key of ``source`` that has one."""
        ...

    def entries(
        self, *, source: str | None = None, entity: str | None = None, limit: int = 50
    ) -> list[RunLogEntry]:
        """The newest run-log entries first, optionally of one source and/or one entity."""
        ...

    def purge(self, before: float) -> int:
        """Delete run-log entries older than ``before`` (epoch seconds); sync state stays."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...
