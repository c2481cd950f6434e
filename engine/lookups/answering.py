"""Answer one named lookup: check the value, find the record in one query, map its fields.

:class:`LookupRunner` turns every outcome into a :class:`LookupAnswer` (an HTTP status and a
JSON body) so the endpoint and ``fieldline lookup`` say the same thing:

- 200 ``{"id", "object", "fields", "fetched_at"}``; 404 no match; 409 several (``on_many: error``);
- 400 a value that cannot be a key (empty, too long, control characters, nothing after normalizing);
- 503 with ``retry_after`` when the source is failing or out of API calls, 502 when it refuses
  the query (a field removed, a permission lost).

Neither the value nor any record data reaches a log line or the status (errors are redacted).
"""

from __future__ import annotations

import json
import logging
import threading
import time
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field as dataclass_field
from typing import Any

from fieldline.errors import AdapterError, BudgetExhaustedError, FieldlineError, TransientAdapterError
from fieldline.lookups.finder import FinderPool, RecordFinder
from fieldline.lookups.stats import CallStats, redact_message
from fieldline.planning.evaluation import compose_normalizers
from fieldline.spec.lookups import (
    LookupOnMany,
    LookupSpec,
    expression_fields,
    record_fields,
    relationship_field,
)
from fieldline.spec.model import FieldSpec, Unmapped
from fieldline.values import MISSING

__all__ = ["LookupAnswer", "LookupRunner"]

logger = logging.getLogger("fieldline.lookup")

_MODIFIED = ("SystemModstamp", "LastModifiedDate")  # what on_many: newest orders by
_UNAVAILABLE_RETRY = 5.0
_LIMIT_RETRY = 60.0
_REFUSED_RETRY = 30.0


@dataclass(frozen=True, slots=True)
class LookupAnswer:
    """One answer: HTTP ``status``, JSON ``body``; ``retry_after`` for 502/503; ``max_age``
    (seconds) the answer may be reused, for ``Cache-Control``."""

    status: int
    body: Mapping[str, Any]
    retry_after: float | None = None
    max_age: float = 0.0
    cached: bool = False


@dataclass(slots=True)
class _Cached:
    answer: LookupAnswer
    expires: float


@dataclass(slots=True)
class _Cache:
    """Answers by key for ``ttl`` seconds; a bounded dict (oldest entries dropped first)."""

    ttl: float
    clock: Callable[[], float]
    limit: int = 10_000
    entries: dict[Any, _Cached] = dataclass_field(default_factory=dict)
    lock: threading.Lock = dataclass_field(default_factory=threading.Lock)

    def get(self, key: Any) -> LookupAnswer | None:
        with self.lock:
            entry = self.entries.get(key)
            if entry is None:
                return None
            remaining = entry.expires - self.clock()
            if remaining <= 0:
                del self.entries[key]
                return None
            answer = entry.answer
        return LookupAnswer(answer.status, answer.body, max_age=remaining, cached=True)

    def put(self, key: Any, answer: LookupAnswer) -> None:
        with self.lock:
            if len(self.entries) >= self.limit:
                del self.entries[next(iter(self.entries))]
            self.entries[key] = _Cached(answer, self.clock() + self.ttl)


def value_problem(value: str, max_length: int) -> str | None:
    """Why ``value`` cannot be a key, or ``None``."""
    if not value:
        return "the value is empty"
    if len(value) > max_length:
        return f"the value is longer than {max_length} characters"
    for char in value:
        category = unicodedata.category(char)
        if category in {"Cc", "Cs"}:
            return "the value holds control characters"
    return None


class LookupRunner:
    """Runs ``lookup`` against finders from ``pool``. ``clock`` (monotonic) drives the cache,
    ``wall`` the ``fetched_at`` stamps and the statistics (``spec_stats`` is told them too)."""

    def __init__(
        self,
        lookup: LookupSpec,
        pool: FinderPool,
        *,
        normalizers: Mapping[str, Callable[[Any], Any]],
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        spec_stats: CallStats | None = None,
    ) -> None:
        self.lookup = lookup
        self.pool = pool
        self.normalizer = compose_normalizers(lookup.normalize, normalizers)
        self.stats = CallStats(clock=wall, parent=spec_stats)
        self.spec_name = ""  # the spec declaring the lookup (set by the directory)
        self._wall = wall
        self._cache = _Cache(lookup.cache_ttl, clock) if lookup.cache_ttl > 0 else None
        self._reads = record_fields(lookup)

    # --- answering ------------------------------------------------------------------------

    def answer(self, value: str) -> LookupAnswer:
        """The answer for ``value`` (never raises for a value or a failing source)."""
        lookup = self.lookup
        problem = value_problem(value, lookup.max_length)
        key: Any = value
        if problem is None and self.normalizer is not None:
            try:
                key = self.normalizer(value)
            except Exception:  # a plugin's normalizer failing on odd text: the value is refused
                key = None
            if key is None or key == "":
                problem = f"the value is not a {' + '.join(lookup.normalize)} key"
        if problem is not None:
            return LookupAnswer(400, {"error": problem, "lookup": lookup.name})
        if self._cache is not None:
            cached = self._cache.get(key)
            if cached is not None:
                return cached
        started = time.perf_counter()
        answer = self._ask(key, value)
        logger.info(
            "lookup %s: %d in %.1f ms", lookup.name, answer.status, (time.perf_counter() - started) * 1000
        )
        if self._cache is not None and answer.status in (200, 404):
            self._cache.put(key, answer)
            return LookupAnswer(answer.status, answer.body, max_age=lookup.cache_ttl)
        return answer

    def _ask(self, key: Any, value: str) -> LookupAnswer:
        lookup = self.lookup
        try:
            with self.pool.borrow() as finder:
                records = self._records(finder, key)
        except BudgetExhaustedError as exc:
            return self._failed(
                exc, value, 503, exc.retry_after or _LIMIT_RETRY, f"{lookup.adapter}'s API limit is reached"
            )
        except TransientAdapterError as exc:
            retry = exc.retry_after or _UNAVAILABLE_RETRY
            return self._failed(exc, value, 503, retry, f"{lookup.adapter} is unavailable")
        except AdapterError as exc:
            return self._failed(exc, value, 502, _REFUSED_RETRY, f"{lookup.adapter} refused the lookup")
        except Exception as exc:  # an adapter bug: a 502 and one log line, never a traceback
            return self._failed(exc, value, 502, _REFUSED_RETRY, f"{lookup.adapter} failed")
        answer = self._from_records(records, value)
        if answer.status < 500:
            self.stats.success()
        return answer

    def _from_records(self, records: Sequence[Mapping[str, Any]], value: str) -> LookupAnswer:
        lookup = self.lookup
        if not records:
            return LookupAnswer(
                404, {"error": "no record matches", "lookup": lookup.name, "object": lookup.object}
            )
        if len(records) > 1 and lookup.on_many is LookupOnMany.ERROR:
            return LookupAnswer(
                409,
                {
                    "error": f"{len(records)} records match",
                    "lookup": lookup.name,
                    "object": lookup.object,
                    "ids": [str(record.get("Id")) for record in records],
                },
            )
        record = _newest(records) if lookup.on_many is LookupOnMany.NEWEST else records[0]
        try:
            fields = self._mapped(record)
        except FieldlineError as exc:
            message = redact_message(str(exc), values=(value,))
            self.stats.failure(message)
            return LookupAnswer(500, {"error": f"the lookup's fields cannot be mapped: {message}"})
        return LookupAnswer(
            200,
            {
                "id": str(record.get("Id")),
                "object": lookup.object,
                "fields": fields,
                "fetched_at": self._wall(),
            },
        )

    def _records(self, finder: RecordFinder, key: Any) -> Sequence[Mapping[str, Any]]:
        lookup = self.lookup
        fields = list(self._reads or finder.readable_fields(lookup.object))
        if lookup.on_many is LookupOnMany.NEWEST:
            fields.extend(_MODIFIED)
        found = finder.find(
            lookup.object,
            lookup.index_field,
            [key],
            fields,
            normalize=lookup.normalize,
            normalizer=self.normalizer,
        )
        return found.get(key, ())

    def _failed(self, exc: Exception, value: str, status: int, retry_after: float, what: str) -> LookupAnswer:
        text = str(exc) if isinstance(exc, FieldlineError) else f"unexpected {type(exc).__name__}"
        message = redact_message(text, values=(value,))
        self.stats.failure(message)
        logger.warning("lookup %s: %d: %s", self.lookup.name, status, message)
        return LookupAnswer(
            status, {"error": f"{what}; retry later", "lookup": self.lookup.name}, retry_after=retry_after
        )

    def _mapped(self, record: Mapping[str, Any]) -> dict[str, Any]:
        if self.lookup.fields is None:
            return {name: value for name, value in record.items() if name != "attributes"}
        mapped: dict[str, Any] = {}
        for spec_field in self.lookup.fields:
            value = field_value(spec_field, record)
            if value is not MISSING:
                mapped[spec_field.name] = value
        return mapped

    # --- describing -----------------------------------------------------------------------

    def describe(self) -> LookupAnswer:
        """``GET /lookup/{name}``: object, index field and the returned fields with their types."""
        lookup = self.lookup
        try:
            with self.pool.borrow() as finder:
                description = finder.describe(lookup.object)
                readable = finder.readable_fields(lookup.object)
        except BudgetExhaustedError as exc:
            return self._failed(
                exc, "", 503, exc.retry_after or _LIMIT_RETRY, f"{lookup.adapter}'s API limit is reached"
            )
        except TransientAdapterError as exc:
            retry = exc.retry_after or _UNAVAILABLE_RETRY
            return self._failed(exc, "", 503, retry, f"{lookup.adapter} is unavailable")
        except AdapterError as exc:
            return self._failed(exc, "", 502, _REFUSED_RETRY, f"{lookup.adapter} refused to describe")
        except Exception as exc:  # an adapter bug, as for a lookup
            return self._failed(exc, "", 502, _REFUSED_RETRY, f"{lookup.adapter} failed")

        def type_of(name: str) -> str | None:
            head, dot, _ = name.partition(".")
            found = relationship_field(description, head) if dot else description.field(name)
            return None if found is None else "reference" if dot else found.type.value

        if lookup.fields is None:
            fields: dict[str, Any] = {name: {"type": type_of(name), "reads": [name]} for name in readable}
        else:
            fields = {}
            for spec_field in lookup.fields:
                reads = expression_fields(spec_field.value.parsed) if spec_field.value is not None else []
                entry: dict[str, Any] = {"reads": reads, "source": spec_field.source_text}
                if len(reads) == 1 and spec_field.map is None:
                    entry["type"] = type_of(reads[0])
                fields[spec_field.name] = entry
        index = description.field(lookup.index_field)
        return LookupAnswer(
            200,
            {
                "lookup": lookup.name,
                "object": lookup.object,
                "index": {
                    "field": lookup.index_field,
                    "type": index.type.value if index is not None else None,
                    "normalize": list(lookup.normalize),
                },
                "on_many": lookup.on_many.value,
                "cache_ttl": lookup.cache_ttl,
                "fields": fields,
            },
        )


def _newest(records: Sequence[Mapping[str, Any]]) -> Mapping[str, Any]:
    def stamp(record: Mapping[str, Any]) -> tuple[str, str]:
        modified = next((str(record[name]) for name in _MODIFIED if record.get(name)), "")
        return modified, str(record.get("Id"))

    return max(records, key=stamp)


def _map_key(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return json.dumps(value, sort_keys=True, default=str)


def field_value(spec_field: FieldSpec, record: Mapping[str, Any]) -> Any:
    """One returned field: ``const``, or ``value`` read over ``record`` then ``map`` / ``default``.

    ``MISSING`` leaves the field out (``unmapped: skip``); an unmapped value with
    ``unmapped: error`` raises :class:`~fieldline.errors.EvaluationError`.
    """
    from fieldline.errors import EvaluationError

    if spec_field.value is None:
        return None if spec_field.const is MISSING else spec_field.const
    value = spec_field.value.search(record)
    if value is None:
        return None if spec_field.default is MISSING else spec_field.default
    if spec_field.map is None:
        return value
    table = {_map_key(key): mapped for key, mapped in spec_field.map.items()}
    key = _map_key(value)
    if key in table:
        return table[key]
    if spec_field.unmapped is Unmapped.KEEP:
        return value
    if spec_field.unmapped is Unmapped.SKIP:
        return MISSING
    if spec_field.unmapped is Unmapped.DEFAULT:
        return spec_field.unmapped_value
    raise EvaluationError(
        f"{spec_field.name}: a value is not in map",
        hint="add it to map or set unmapped: keep|skip|{const: X}",
    )
