"""The target's describes: fetched once per object, or taken from the describe cache in a run.

A describe from the cache (:mod:`~fieldline.adapters.salesforce.describe_cache`) may be stale;
:meth:`Descriptions.again` replaces it with a fresh one when a problem it could explain is met
(the target calls it on a refused record or a missing match field), at most once per object and
adapter. Outside a run (``fieldline describe``, ``validate --against``) the org is always asked, and
its answer kept for the runs that follow.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fieldline.adapters.salesforce.client import SalesforceClient
from fieldline.adapters.salesforce.describe import fetch_describe, object_description
from fieldline.adapters.salesforce.describe_cache import DescribeCache
from fieldline.contracts import ObjectDescription

__all__ = ["Descriptions"]


class Descriptions:
    """Describes of one adapter's objects, by lower-cased name.

    ``user``: whose view of the org the describes are (``None``: a bare access token, whose
    describes are never kept); ``seconds``: how long a kept one is used (0: never).
    """

    def __init__(self, client: SalesforceClient, *, folder: Path, user: str | None, seconds: float) -> None:
        self.client = client
        self.folder = folder
        self.user = user
        self.seconds = seconds
        self._known: dict[str, ObjectDescription] = {}
        self._from_cache: set[str] = set()  # described from the cache, not yet described again
        self._in_run = False
        self._cache: DescribeCache | None = None

    def get(self, object_name: str) -> ObjectDescription:
        """The object's description (one describe call, or none from a recent kept one)."""
        known = self._known.get(object_name.lower())
        if known is not None:
            return known
        cache = self._kept()
        kept = cache.get(object_name) if cache is not None and self._in_run else None
        raw: Mapping[str, Any]
        if kept is not None:
            raw = kept
            self._from_cache.add(object_name.lower())
        else:
            raw = self._fetch(object_name)
        description = self._known[object_name.lower()] = object_description(raw)
        return description

    def again(self, object_name: str) -> bool:
        """Describe ``object_name`` afresh if its description came from the cache (a problem met
        may be the cache's: a field added since); whether it did."""
        if object_name.lower() not in self._from_cache:
            return False
        self._from_cache.discard(object_name.lower())
        self._known[object_name.lower()] = object_description(self._fetch(object_name))
        return True

    def begin_run(self) -> None:
        """A run starts: kept describes may serve it. What this adapter already knows stays
        known, as a describe it fetched itself does (a service worker's batches do not read the
        file again each time); one taken from the cache can still be replaced by :meth:`again`."""
        self._in_run = True

    def _fetch(self, object_name: str) -> Mapping[str, Any]:
        raw = fetch_describe(self.client, object_name)
        cache = self._kept()
        if cache is not None:
            cache.put(object_name, raw)
        return raw

    def _kept(self) -> DescribeCache | None:
        if not self.seconds or not self.user:
            return None
        if self._cache is None:
            scope = f"{self.client.base_url}|{self.user}"  # the org, the API version, the user
            self._cache = DescribeCache(self.folder, scope, seconds=self.seconds)
        return self._cache
