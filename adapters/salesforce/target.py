"""The Salesforce :class:`~fieldline.contracts.TargetAdapter`.

``describe`` is cached per adapter; ``lookup`` answers many match keys with a few chunked SOQL
queries; ``apply`` pre-flights every write against describe, then sends the valid ones through
sObject Collections (or Bulk API 2.0 above ``bulk_threshold``) and returns one result per
write, in request order (or the results so far and a stop, when the API budget runs out).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import requests.adapters

from fieldline.adapters.salesforce.apply import CollectionsWriter
from fieldline.adapters.salesforce.budget import ApiBudget
from fieldline.adapters.salesforce.bulk import BulkWriter
from fieldline.adapters.salesforce.bulk_query import QueryWait
from fieldline.adapters.salesforce.client import SalesforceClient
from fieldline.adapters.salesforce.composite import MAX_HEAVY, CompositeSender
from fieldline.adapters.salesforce.describe_cache import cache_folder
from fieldline.adapters.salesforce.descriptions import Descriptions
from fieldline.adapters.salesforce.lookup import build_queries, match_records
from fieldline.adapters.salesforce.match_index import IndexMode, MatchIndex
from fieldline.adapters.salesforce.options import TargetOptions, parse_options
from fieldline.adapters.salesforce.preflight import preflight, preflight_problems
from fieldline.adapters.salesforce.retry import RetryPolicy
from fieldline.adapters.salesforce.settings import AuthMethod, SalesforceSettings, load_settings
from fieldline.adapters.salesforce.soql import query_all
from fieldline.contracts import (
    ApplyResult,
    LookupRequest,
    LookupResult,
    ObjectDescription,
    Stop,
    TargetBase,
    Write,
    WriteError,
    WriteOperation,
    WriteResult,
)
from fieldline.errors import BudgetExhaustedError, FatalAdapterError

__all__ = ["SalesforceTarget", "create_target"]


class SalesforceTarget(TargetBase):
    """Writes records into a Salesforce org (or the emulator) through simple-salesforce.

    ``options`` are the spec's ``target.options``; ``settings`` default to the environment /
    config file. ``sleep`` and ``clock`` are injectable so retry and polling tests never wait;
    ``transport`` (a requests transport adapter) lets tests fake Salesforce. Nothing connects
    until the first call.
    """

    name = "salesforce"

    def __init__(
        self,
        options: Mapping[str, Any] | None = None,
        *,
        settings: SalesforceSettings | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        transport: requests.adapters.BaseAdapter | None = None,
        cache_dir: Path | None = None,
    ) -> None:
        self.options: TargetOptions = parse_options(options)
        base = settings if settings is not None else load_settings()
        self.settings = base.with_api_version(self.options.api_version)
        self.retry = RetryPolicy(max_retries=self.options.max_retries, sleep=sleep)
        self.client = SalesforceClient(
            self.settings,
            retry=self.retry,
            budget=ApiBudget(share=self.options.budget_share),
            transport=transport,
        )
        self._composite = CompositeSender(self.client)
        self._collections = CollectionsWriter(
            self.client, batch_size=self.options.batch_size, retry=self.retry, composite=self._composite
        )
        self._bulk = BulkWriter(self.client, sleep=sleep, clock=clock)
        self._descriptions = Descriptions(
            self.client,
            folder=cache_folder() if cache_dir is None else cache_dir,
            # whose view of the org: a bare access token says nothing of it (never kept)
            user=self.settings.username or self.settings.client_id or self.settings.consumer_key,
            seconds=self.options.describe_cache_seconds,
        )
        self.match_index = MatchIndex(
            self.client,
            self.describe,
            mode=IndexMode(self.options.match_index),
            bulk_threshold=self.options.bulk_threshold,
            wait=QueryWait(sleep=sleep),
        )

    # --- describe -------------------------------------------------------------------------

    def describe(self, object_name: str) -> ObjectDescription:
        """The object's fields: one describe call per object per adapter, or none in a run while
        the describe cache (``describe_cache_seconds``) holds a recent one."""
        return self._descriptions.get(object_name)

    # --- lookup ---------------------------------------------------------------------------

    def lookup(self, requests: Sequence[LookupRequest]) -> LookupResult:
        """Every match key of the batch in as few chunked SOQL queries as possible."""
        if not requests:
            return {}
        descriptions = {request.object: self.describe(request.object) for request in requests}
        for request in requests:
            if descriptions[request.object].field(request.field) is None and self._descriptions.again(
                request.object
            ):
                descriptions[request.object] = self.describe(request.object)
            if descriptions[request.object].field(request.field) is None:
                raise FatalAdapterError(
                    f"{request.object} has no field {request.field!r} to match on",
                    hint=f"check the match rule against `fieldline describe {request.object}`",
                    object=request.object,
                    field=request.field,
                )
        # Normalized keys come from the match index (read once per run); the rest from queries.
        indexed = {
            (request.object, request.field, tuple(request.normalize)): self.match_index.lookup(request)
            for request in requests
            if self.match_index.answers(request)
        }
        queried = [
            request
            for request in requests
            if (request.object, request.field, tuple(request.normalize)) not in indexed
        ]
        base_length = len(self.client.base_url) + len("query/?q=")
        queries, groups = build_queries(queried, descriptions, base_length=base_length)
        found: dict[Any, list[Mapping[str, Any]]] = {}
        if len(queries) > 1:  # five queries (or next pages) a composite call, not one a call
            objects = ", ".join(dict.fromkeys(query.keys[0][0] for query in queries))
            answers = self._composite.query_all([query.soql for query in queries], what=f"lookup {objects}")
        else:
            answers = [
                self.client.call(
                    f"lookup {query.keys[0][0]} by {', '.join(key[1] for key in query.keys)}",
                    query_all(query.soql),
                )
                for query in queries
            ]
        share = 1 / MAX_HEAVY if len(queries) > 1 else 1.0  # of a call, per query
        for query in queries:
            self.match_index.spent(query.keys, share / len(query.keys))
        for query, records in zip(queries, answers, strict=True):
            for key in query.keys:
                found.setdefault(key, []).extend(records)
        return {**match_records(groups, found), **indexed}

    # --- apply ----------------------------------------------------------------------------

    def check(self, writes: Sequence[Write]) -> list[tuple[WriteError, ...]]:
        """Every pre-flight problem of each write (from describe; nothing is sent)."""
        problems = [tuple(preflight_problems(write, self.describe(write.object))) for write in writes]
        # a refusal by a kept describe may be the cache's (a field or picklist value added since)
        again = {write.object for write, found in zip(writes, problems, strict=True) if found}
        again = {name for name in again if self._descriptions.again(name)}
        if again:
            problems = [
                tuple(preflight_problems(write, self.describe(write.object)))
                if write.object in again
                else found
                for write, found in zip(writes, problems, strict=True)
            ]
        return problems

    def apply(self, writes: Sequence[Write]) -> ApplyResult:
        """One result per write, in order. Invalid records are refused before sending.

        When the run's budget or the org's daily limit runs out, the results so far come back
        (in request order) with ``stopped`` set; the writes without one were not sent. A
        transport failure raises.
        """
        results: dict[int, WriteResult] = {}
        stopped: Stop | None = None
        try:
            groups: dict[tuple[str, WriteOperation, str | None], list[tuple[int, Write]]] = {}
            for index, write in enumerate(writes):
                problem = preflight(write, self.describe(write.object))
                if problem is not None and self._descriptions.again(write.object):
                    problem = preflight(write, self.describe(write.object))
                if problem is not None:
                    results[index] = WriteResult(key=write.key, ok=False, error=problem)
                    continue
                slot = (write.object, write.operation, write.external_id_field)
                groups.setdefault(slot, []).append((index, write))
            collections: list[list[tuple[int, Write]]] = []
            for items in groups.values():
                if len(items) > self.options.bulk_threshold:
                    retry = self._bulk.write(items, results)
                    if retry:
                        collections.append(retry)
                else:
                    collections.append(items)
            # every group's 200-record collections, five to a composite call
            self._collections.write_groups(collections, results)
        except BudgetExhaustedError as exc:
            stopped = exc.as_stop()  # a pause, not a failure: the caller records what was done
        ordered = tuple(results[index] for index in sorted(results))
        self.match_index.note_writes(writes, ordered)
        return ApplyResult(results=ordered, stopped=stopped)

    def begin_run(self) -> None:
        """A new run reads its match index afresh: an index kept from an earlier run (a long-lived
        service worker's) would miss records created since by anyone else."""
        self.match_index.forget()
        self._descriptions.begin_run()

    def write_window(self) -> int:
        """Writes ``sync`` may gather across batches (the ``write_window`` option): one apply of
        thousands of writes per object goes through a Bulk API 2.0 job (about five calls) where
        batch by batch each would cost a Collections call per 1,000."""
        return self.options.write_window

    def check_ready(self) -> None:
        """Fail now, without a network call, when no complete set of credentials is configured
        (``auth_method`` raises a ConfigError naming every way to log in)."""
        if self.settings.auth_method is AuthMethod.JWT:
            self.settings.private_key_pem()  # the key file must be readable

    def close(self) -> None:
        """Close connections and the match index's file; safe to call more than once."""
        self.match_index.close()
        self.client.close()


def create_target(options: Mapping[str, Any]) -> SalesforceTarget:
    """The registered factory: settings from the environment/config, options from the spec."""
    return SalesforceTarget(options)
