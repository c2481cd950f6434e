"""Describes kept across runs: a sync that starts every few minutes need not describe its
objects every time (two of a re-sync's four calls were describes).

One JSON file per (org, user, API version, object) under the cache folder, holding only what
:func:`~fieldline.adapters.salesforce.describe.object_description` reads, and used while younger
than the target's ``describe_cache_seconds``. A describe from the cache may be stale (a field
added or a picklist value changed since): the target describes the object again, once per adapter,
as soon as a record or a match rule meets a problem the cached describe could explain. The cache
is a convenience: a folder that cannot be read or written is ignored, never an error.

The folder: ``FIELDLINE_CACHE_DIR``, else ``$XDG_CACHE_HOME/fieldline``, else
``~/.cache/fieldline``; describes are metadata, not secrets, but files are written owner-only.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

__all__ = ["DescribeCache", "cache_folder", "trimmed"]

logger = logging.getLogger("fieldline.salesforce")

# What object_description reads of a describe (the rest is most of its size).
_OBJECT_KEYS = ("name", "label", "createable", "updateable")
_FIELD_KEYS = (
    "name",
    "type",
    "label",
    "length",
    "nillable",
    "createable",
    "defaultedOnCreate",
    "updateable",
    "unique",
    "externalId",
    "idLookup",
    "restrictedPicklist",
    "referenceTo",
)


def cache_folder(environ: Mapping[str, str] | None = None) -> Path:
    """Where fieldline keeps caches (see the module's notes)."""
    env = os.environ if environ is None else environ
    if env.get("FIELDLINE_CACHE_DIR"):
        return Path(env["FIELDLINE_CACHE_DIR"])
    if env.get("XDG_CACHE_HOME"):
        return Path(env["XDG_CACHE_HOME"]) / "fieldline"
    return Path.home() / ".cache" / "fieldline"


def trimmed(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The parts of a describe answer that fieldline reads."""
    fields = []
    for entry in raw.get("fields") or ():
        if not isinstance(entry, Mapping):
            continue
        field = {key: entry[key] for key in _FIELD_KEYS if key in entry}
        picklist = entry.get("picklistValues")
        if picklist:
            field["picklistValues"] = [
                {"value": value.get("value"), "active": value.get("active", True)}
                for value in picklist
                if isinstance(value, Mapping)
            ]
        fields.append(field)
    return {**{key: raw[key] for key in _OBJECT_KEYS if key in raw}, "fields": fields}


class DescribeCache:
    """Describes of one org as one user sees them (``scope``), each kept ``seconds``."""

    def __init__(
        self, folder: Path, scope: str, *, seconds: float, clock: Callable[[], float] = time.time
    ) -> None:
        digest = hashlib.sha256(scope.encode()).hexdigest()[:24]
        self.folder = folder / "describe" / digest
        self.seconds = seconds
        self.clock = clock

    def _path(self, object_name: str) -> Path:
        return self.folder / f"{object_name.lower()}.json"

    def get(self, object_name: str) -> dict[str, Any] | None:
        """The kept describe of ``object_name``, or ``None`` when absent, too old or unreadable."""
        try:
            kept = json.loads(self._path(object_name).read_text(encoding="utf-8"))
            fetched_at = float(kept["fetched_at"])
            describe = kept["describe"]
        except (OSError, ValueError, KeyError, TypeError):
            return None
        age = self.clock() - fetched_at
        if not 0 <= age < self.seconds or not isinstance(describe, dict):
            return None
        return describe

    def put(self, object_name: str, raw: Mapping[str, Any]) -> None:
        """Keep ``raw`` (trimmed); a failure to write is logged, not raised."""
        path = self._path(object_name)
        text = json.dumps({"fetched_at": self.clock(), "describe": trimmed(raw)}, separators=(",", ":"))
        try:
            self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            partial = path.with_name(f".{path.name}.{os.getpid()}")
            descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(descriptor, "w", encoding="utf-8") as file:
                file.write(text)
            os.replace(partial, path)  # readers see the old file or the new one, never half
        except OSError as exc:
            logger.debug("describe cache not written (%s): %s", path, exc)

    def forget(self, object_name: str) -> None:
        try:
            self._path(object_name).unlink(missing_ok=True)
        except OSError as exc:
            logger.debug("describe cache entry not removed: %s", exc)
