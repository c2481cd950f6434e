"""``PassFortSource``: PassFort profiles as fieldline source documents, and its webhooks as events.

PassFort has no documented profile listing, so a backfill reads the profile ids it is given
(``options.profile_ids`` or ``options.profile_ids_file``). Webhooks are triggers: the service
fetches the profile again for the authoritative state.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from fieldline.adapters.passfort import write_back as collected
from fieldline.adapters.passfort.client import PassFortClient
from fieldline.adapters.passfort.events import COLLECTED_DATA_EVENTS, EnabledEvents, canonical_event
from fieldline.adapters.passfort.settings import PassFortSettings, load_settings
from fieldline.adapters.passfort.webhooks import parse_webhook_body
from fieldline.contracts import SourceBase, SourceDocument, SourceEvent, WriteBack, WriteBackResult
from fieldline.errors import ConfigError

__all__ = ["PassFortSource", "normalize_profile", "read_profile_ids"]

log = logging.getLogger(__name__)


def normalize_profile(profile: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``profile`` with ``customer_ref`` at the top level.

    Where PassFort keeps ``customer_ref`` on a profile is unconfirmed: the top-level value
    wins, else ``collected_data.customer_ref``, else ``None`` (always present, so a spec can
    read ``customer_ref`` without caring).
    """
    data = dict(profile)
    ref = data.get("customer_ref")
    if ref is None:
        collected = data.get("collected_data")
        if isinstance(collected, Mapping):
            ref = collected.get("customer_ref")
    data["customer_ref"] = ref
    return data


def read_profile_ids(path: str | Path) -> list[str]:
    """Profile ids from a text file: one per line; blank lines and ``#`` comments ignored."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"source.options.profile_ids_file: cannot read {str(path)!r}: {exc.strerror}",
            hint="give a text file with one PassFort profile id per line",
        ) from exc
    ids = []
    for line in text.splitlines():
        stripped = line.split("#", 1)[0].strip()
        if stripped:
            ids.append(stripped)
    return ids


class PassFortSource(SourceBase):
    """PassFort as a fieldline source (``SourceAdapter`` and ``WebhookSource``)."""

    name = "passfort"

    def __init__(
        self,
        settings: PassFortSettings,
        *,
        events: Iterable[str] | None = None,
        profile_ids: Sequence[str] | None = None,
        profile_ids_file: str | Path | None = None,
        concurrency: int = 4,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.settings = settings
        self.enabled_events = EnabledEvents(events)
        self._profile_ids = None if profile_ids is None else list(profile_ids)
        self._profile_ids_file = profile_ids_file
        self._concurrency = max(1, concurrency)
        self._client_options: dict[str, Any] = {"transport": transport}
        if sleep is not None:
            self._client_options["sleep"] = sleep
        self._client: PassFortClient | None = None
        self._client_lock = threading.Lock()

    @property
    def client(self) -> PassFortClient:
        """The API client, built on first use: a receive-only service needs no API key.

        Raises :class:`~fieldline.errors.ConfigError` when no API key is configured.
        """
        if self._client is None:
            with self._client_lock:
                if self._client is None:
                    self._client = PassFortClient(self.settings, **self._client_options)
        return self._client

    def check_ready(self) -> None:
        """Fail now, not at the first event, if profiles cannot be fetched (no API key)."""
        self.client  # noqa: B018 - building the client checks the settings

    @classmethod
    def from_options(
        cls, options: Mapping[str, Any], *, environ: Mapping[str, str] | None = None
    ) -> PassFortSource:
        """Build from spec ``options``; credentials from the environment or config file.

        The plugin's factory has already resolved a relative ``profile_ids_file`` against the
        spec's folder.
        """
        ids_file = options.get("profile_ids_file")
        return cls(
            load_settings(options, environ=environ),
            events=options.get("events"),
            profile_ids=options.get("profile_ids"),
            profile_ids_file=ids_file,
            concurrency=int(options.get("concurrency", 4)),
        )

    # --- SourceAdapter --------------------------------------------------------------------

    def fetch(self, key: str) -> SourceDocument | None:
        """The current profile (``customer_ref`` normalized), or ``None`` if PassFort has none."""
        profile = self.client.get_profile(key)
        if profile is None:
            return None
        return SourceDocument(key=str(profile.get("id") or key), data=normalize_profile(profile))

    def profile_ids(self) -> list[str]:
        """The ids a backfill reads: ``profile_ids`` then the lines of ``profile_ids_file``."""
        if self._profile_ids is None and self._profile_ids_file is None:
            raise ConfigError(
                "PassFort has no documented profile listing, so a batch run needs the ids",
                hint="set source.options.profile_ids (a list) or profile_ids_file (one id a line)",
            )
        ids = list(self._profile_ids or [])
        if self._profile_ids_file is not None:
            ids.extend(read_profile_ids(self._profile_ids_file))
        return list(dict.fromkeys(ids))  # drop repeats, keep order

    def read(self) -> Iterator[SourceDocument]:
        """Fetch every listed profile, a few at a time, yielding them in list order.

        Profiles PassFort no longer has (404) are skipped with a warning.
        """
        ids = self.profile_ids()
        window = self._concurrency * 2
        with ThreadPoolExecutor(self._concurrency, thread_name_prefix="passfort-read") as pool:
            pending: list[tuple[str, Future[SourceDocument | None]]] = []
            position = 0
            try:
                while pending or position < len(ids):
                    while position < len(ids) and len(pending) < window:
                        pending.append((ids[position], pool.submit(self.fetch, ids[position])))
                        position += 1
                    key, future = pending.pop(0)
                    document = future.result()
                    if document is None:
                        log.warning("PassFort profile %s not found (404); skipped", key)
                        continue
                    yield document
            finally:
                for _, future in pending:
                    future.cancel()

    # --- write-back -----------------------------------------------------------------------

    def write_back_problem(self, path: str) -> str | None:
        """PassFort takes write-backs into collected data (``collected_data.<field>``)."""
        return collected.write_back_problem(path)

    def write_back(self, writes: Sequence[WriteBack]) -> list[WriteBackResult]:
        """Each profile's write-backs in one read and at most one conditional write (PassFort has
        no batch endpoint, so profiles are written a few at a time); see
        :mod:`fieldline.adapters.passfort.write_back`."""
        by_profile: dict[str, list[WriteBack]] = {}
        for write in writes:
            by_profile.setdefault(write.key, []).append(write)
        with ThreadPoolExecutor(self._concurrency, thread_name_prefix="passfort-write") as pool:
            done = pool.map(
                lambda item: collected.write_profile(self.client, item[0], item[1]), by_profile.items()
            )
            answered = {(result.key, result.path): result for results in done for result in results}
        return [answered[(write.key, write.path)] for write in writes]

    def is_write_back_echo(self, event: SourceEvent, paths: frozenset[str]) -> bool:
        """A collected-data webhook whose ``new_data`` differs from ``old_data`` only at ``paths``."""
        if canonical_event(event.type) not in COLLECTED_DATA_EVENTS:
            return False
        inside = [collected.data_path(path) for path in paths if collected.write_back_problem(path) is None]
        return bool(inside) and collected.differs_only_at(
            event.payload.get("old_data"), event.payload.get("new_data"), inside
        )

    def close(self) -> None:
        """Close the HTTP connection pool (if one was opened)."""
        if self._client is not None:
            self._client.close()

    # --- WebhookSource --------------------------------------------------------------------

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> list[SourceEvent]:
        """Verify the shared secret and parse a single or batched webhook body.

        Every well-formed event is returned, enabled or not; ask :meth:`is_enabled` which
        ones to sync. See :func:`fieldline.adapters.passfort.webhooks.parse_webhook_body`.
        """
        return parse_webhook_body(headers, body, secret=self.settings.webhook_secret)

    def check_receiving(self) -> None:
        """Fail at start, not with a 503 per webhook, when no webhook secret is configured."""
        if self.settings.webhook_secret is None or not self.settings.webhook_secret.reveal():
            raise ConfigError(
                "no PassFort webhook secret is configured; every webhook would be refused",
                hint="set FIELDLINE_PASSFORT_WEBHOOK_SECRET (or webhook_secret in [passfort])",
            )

    def is_enabled(self, event_type: str) -> bool:
        """Whether the spec syncs on this event type (aliases folded, case-insensitive)."""
        return event_type in self.enabled_events
