"""The Salesforce :class:`~fieldline.contracts.SourceAdapter`: records of one object as documents.

``read()`` counts the matching records first (``SELECT COUNT()``, one call): up to
``bulk_threshold`` it pages through REST ``query``/``queryMore``; above, it runs a Bulk API 2.0
query job and streams its CSV result one locator page at a time, so memory stays flat however
large the export. ``fetch(key)`` reads one record by the key field; :meth:`SalesforceSource.find`
finds records by an index field (optionally normalized) in one ``SELECT`` per value batch,
which the lookup endpoint uses.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import requests.adapters

from fieldline.adapters.salesforce.bulk_query import QueryWait, bulk_records, rest_records
from fieldline.adapters.salesforce.client import SalesforceClient, SalesforceRequestError
from fieldline.adapters.salesforce.describe import fetch_description
from fieldline.adapters.salesforce.lookup import build_queries, match_records
from fieldline.adapters.salesforce.retry import RetryPolicy
from fieldline.adapters.salesforce.settings import AuthMethod, SalesforceSettings, load_settings
from fieldline.adapters.salesforce.soql import literal, query_all
from fieldline.adapters.salesforce.source_options import SourceOptions, parse_source_options
from fieldline.contracts import FieldType, LookupRequest, ObjectDescription, SourceBase, SourceDocument
from fieldline.errors import FatalAdapterError

__all__ = ["SalesforceSource", "SourceOptions", "create_source", "plain_record"]

# Compound and binary fields: Bulk query refuses them and they are not document data.
_UNREADABLE = frozenset({FieldType.ADDRESS, FieldType.LOCATION, FieldType.BASE64})
_RELATED = re.compile(r"[A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z][A-Za-z0-9_]*)+")


def plain_record(record: Mapping[str, Any]) -> dict[str, Any]:
    """A query record without Salesforce's ``attributes`` (in related records too)."""
    return {
        name: plain_record(value) if isinstance(value, Mapping) else value
        for name, value in record.items()
        if name != "attributes"
    }


def _epoch(value: Any) -> float | None:
    """``2024-05-01T10:00:00.000+0000`` as seconds since the epoch; ``None`` if not a datetime."""
    if not isinstance(value, str) or not value:
        return None
    text = value.replace("Z", "+00:00")
    if len(text) > 5 and text[-5] in "+-" and text[-3] != ":":
        text = f"{text[:-2]}:{text[-2:]}"
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.timestamp()


class SalesforceSource(SourceBase):
    """Records of ``options.object`` as :class:`SourceDocument` (the record without ``attributes``).

    ``settings`` default to the environment / config file; ``sleep`` (Bulk polling, retries) and
    ``transport`` are injectable for tests. Nothing connects until the first call.
    """

    name = "salesforce"

    def __init__(
        self,
        options: Mapping[str, Any],
        *,
        settings: SalesforceSettings | None = None,
        sleep: Callable[[float], None] = time.sleep,
        transport: requests.adapters.BaseAdapter | None = None,
        bulk_poll_seconds: float = 0.5,
        bulk_timeout_seconds: float = 3600.0,
    ) -> None:
        self.options = parse_source_options(options)
        base = settings if settings is not None else load_settings()
        self.settings = base.with_api_version(self.options.api_version)
        self.client = SalesforceClient(
            self.settings,
            retry=RetryPolicy(max_retries=self.options.max_retries, sleep=sleep),
            transport=transport,
        )
        self._sleep = sleep
        self._poll = bulk_poll_seconds
        self._bulk_timeout = bulk_timeout_seconds
        self._descriptions: dict[str, ObjectDescription] = {}

    # --- describe -------------------------------------------------------------------------

    def describe(self, object_name: str | None = None, *, refresh: bool = False) -> ObjectDescription:
        """The object's fields, cached per object; ``refresh`` asks Salesforce again."""
        name = object_name or self.options.object
        cached = self._descriptions.get(name.lower())
        if cached is not None and not refresh:
            return cached
        description = fetch_description(self.client, name)
        self._descriptions[name.lower()] = description
        return description

    def readable_fields(self, object_name: str | None = None) -> tuple[str, ...]:
        """Every field describe lists that a query can return as a plain value."""
        description = self.describe(object_name)
        return tuple(name for name, field in description.fields.items() if field.type not in _UNREADABLE)

    def _fields(self) -> tuple[str, ...]:
        wanted = list(self.options.fields or self.readable_fields())
        for required in ("Id", self.options.key, self.options.version):
            if required and all(name.lower() != required.lower() for name in wanted):
                wanted.append(required)
        return tuple(wanted)

    def _select(self) -> str:
        return f"SELECT {', '.join(self._fields())} FROM {self.options.object}"

    def _where(self, *conditions: str) -> str:
        parts = [f"({self.options.where})"] if self.options.where else []
        parts.extend(conditions)
        return f" WHERE {' AND '.join(parts)}" if parts else ""

    def _document(self, record: Mapping[str, Any]) -> SourceDocument:
        data = plain_record(record)
        key = data.get(self.options.key)
        if key is None or key == "":
            key = data.get("Id")
        version = _epoch(data.get(self.options.version)) if self.options.version else None
        return SourceDocument(key=str(key), data=data, version=version)

    # --- read -----------------------------------------------------------------------------

    def count(self) -> int:
        """How many records ``read()`` would give (one ``SELECT COUNT()`` call)."""
        soql = f"SELECT COUNT() FROM {self.options.object}{self._where()}"
        answer = self.client.call(f"count {self.options.object}", lambda sf: sf.query(soql))
        return int(answer.get("totalSize") or 0)

    def read(self) -> Iterator[SourceDocument]:
        """Every matching record, streamed (REST pages, or a Bulk query job above the threshold)."""
        if self.count() > self.options.bulk_threshold:
            records = self._bulk_records(self._select() + self._where())
        else:
            records = self._rest_records(self._select() + self._where() + " ORDER BY Id")
        for record in records:
            yield self._document(record)

    def _rest_records(self, soql: str) -> Iterator[Mapping[str, Any]]:
        return rest_records(
            self.client, soql, what=f"query {self.options.object}", page_size=self.options.page_size
        )

    def _bulk_records(self, soql: str) -> Iterator[Mapping[str, Any]]:
        types = {name.lower(): field.type for name, field in self.describe().fields.items()}
        return bulk_records(
            self.client,
            soql,
            types,
            what=f"bulk query {self.options.object}",
            page_size=self.options.page_size,
            wait=QueryWait(sleep=self._sleep, poll_seconds=self._poll, timeout_seconds=self._bulk_timeout),
        )

    # --- fetch ----------------------------------------------------------------------------

    def fetch(self, key: str) -> SourceDocument | None:
        """The record whose key field equals ``key`` (the lowest ``Id`` if several), or ``None``."""
        field = self.describe().field(self.options.key)
        value = literal(key, field.type if field is not None else FieldType.STRING)
        soql = f"{self._select()}{self._where(f'{self.options.key} = {value}')} ORDER BY Id LIMIT 1"
        answer = self.client.call(f"fetch {self.options.object}", lambda sf: sf.query(soql))
        records = answer.get("records") or ()
        return self._document(records[0]) if records else None

    def fetch_many(self, field: str, values: Sequence[Any]) -> dict[Any, list[SourceDocument]]:
        """Documents whose ``field`` equals each of ``values``, in as few queries as URLs allow."""
        found = self.find(self.options.object, field, values, self._fields())
        return {value: [self._document(record) for record in records] for value, records in found.items()}

    def find(
        self,
        object_name: str,
        field: str,
        values: Sequence[Any],
        fields: Sequence[str],
        *,
        normalize: Sequence[str] = (),
        normalizer: Callable[[Any], Any] | None = None,
    ) -> dict[Any, list[Mapping[str, Any]]]:
        """Records of ``object_name`` whose ``field`` (normalized, when ``normalize`` names
        normalizers) equals each value: ``value -> records`` sorted by ``Id``, ``attributes``
        removed. The match and the fields share one ``SELECT`` (one call per value batch).
        When Salesforce says a field is unknown, describe is refreshed and the query built again
        once (a field added or removed since describe was cached)."""
        try:
            return self._find(object_name, field, values, fields, normalize=normalize, normalizer=normalizer)
        except SalesforceRequestError as exc:
            if exc.context.get("code") != "INVALID_FIELD":
                raise
            self.describe(object_name, refresh=True)
            return self._find(object_name, field, values, fields, normalize=normalize, normalizer=normalizer)

    def _find(
        self,
        object_name: str,
        field: str,
        values: Sequence[Any],
        fields: Sequence[str],
        *,
        normalize: Sequence[str],
        normalizer: Callable[[Any], Any] | None,
    ) -> dict[Any, list[Mapping[str, Any]]]:
        description = self.describe(object_name)
        if description.field(field) is None:
            raise FatalAdapterError(
                f"{object_name} has no field {field!r} to look records up by",
                hint=f"check the index field against `fieldline describe {object_name}`",
                object=object_name,
                field=field,
            )
        request = LookupRequest(
            object=object_name,
            field=field,
            values=frozenset(values),
            fields=frozenset(fields),
            normalize=tuple(normalize),
            normalizer=normalizer,
        )
        base_length = len(self.client.base_url) + len("query/?q=")
        queries, groups = build_queries([request], {object_name: description}, base_length=base_length)
        # build_queries selects the fields describe lists; related records' fields (Parent.Name)
        # are added to the same SELECT, when they are plain dotted names.
        related = [name for name in dict.fromkeys(fields) if _RELATED.fullmatch(name)]
        found: dict[Any, list[Mapping[str, Any]]] = {}
        for query in queries:
            soql = query.soql.replace(" FROM ", f", {', '.join(related)} FROM ", 1) if related else query.soql
            records = self.client.call(f"lookup {object_name} by {field}", query_all(soql))
            for key in query.keys:
                found.setdefault(key, []).extend(records)
        matched = match_records(groups, found)
        by_value = matched.get((object_name, field, tuple(normalize)), {})
        return {value: [plain_record(record) for record in records] for value, records in by_value.items()}

    # --- lifecycle ------------------------------------------------------------------------

    def check_ready(self) -> None:
        """Fail without a network call when no complete set of credentials is configured."""
        if self.settings.auth_method is AuthMethod.JWT:
            self.settings.private_key_pem()

    def close(self) -> None:
        self.client.close()


def create_source(options: Mapping[str, Any]) -> SalesforceSource:
    """The registered factory: settings from the environment/config, options from the spec."""
    return SalesforceSource(options)
