"""What a source adapter offers to answer lookups, and a small pool of them for concurrent callers."""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from fieldline.contracts import ObjectDescription

__all__ = ["FinderPool", "RecordFinder"]


@runtime_checkable
class RecordFinder(Protocol):
    """A source that finds records by an index field (the Salesforce source is one)."""

    def describe(self, object_name: str) -> ObjectDescription:
        """The object's fields (cached by the adapter)."""
        ...

    def readable_fields(self, object_name: str) -> tuple[str, ...]:
        """Every field a query of ``object_name`` can return as a plain value."""
        ...

    def find(
        self,
        object_name: str,
        field: str,
        values: Sequence[Any],
        fields: Sequence[str],
        *,
        normalize: Sequence[str] = (),
        normalizer: Callable[[Any], Any] | None = None,
    ) -> Mapping[Any, Sequence[Mapping[str, Any]]]:
        """``value -> records`` (sorted by ``Id``) whose ``field`` equals each value, in one
        query per value batch that also returns ``fields``."""
        ...

    def close(self) -> None: ...


class FinderPool:
    """Up to ``size`` finders made on demand and lent to one caller at a time.

    A finder holds a connection and a describe cache that are not meant for two threads at
    once; the most recently returned (warmest) finder is lent first.
    """

    def __init__(self, factory: Callable[[], RecordFinder], *, size: int = 4) -> None:
        self._factory = factory
        self._size = size
        self._idle: queue.LifoQueue[RecordFinder] = queue.LifoQueue()
        self._made: list[RecordFinder] = []
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def borrow(self) -> Iterator[RecordFinder]:
        """A finder for the block; made when none is idle and fewer than ``size`` exist."""
        finder = self._take()
        try:
            yield finder
        finally:
            self._idle.put(finder)

    def _take(self) -> RecordFinder:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            pass
        with self._lock:
            if len(self._made) < self._size:
                finder = self._factory()
                self._made.append(finder)
                return finder
        return self._idle.get()

    def close(self) -> None:
        """Close every finder made; safe to call twice."""
        with self._lock:
            made, self._made = self._made, []
        for finder in made:
            finder.close()
