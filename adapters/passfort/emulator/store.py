"""The emulator's in-memory PassFort: profiles, their applications, and the webhooks changes emit.

Shapes follow ``shared/reference/passfort.md``: a profile has ``id``, ``role``, ``collected_data``
and ``applications`` (each with ``id``, ``product {id, alias, name}``, ``status``, ``flag``,
``history``, ``flag_history``, ...). ``customer_ref`` is kept in both places PassFort may use
(top level and ``collected_data``), because which one is real is unconfirmed.

Not thread-safe on purpose: only the emulator's event loop touches it.
"""

from __future__ import annotations

import copy
import json
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fieldline.errors import ConfigError

__all__ = ["ApplicationNotFound", "ProfileStore", "if_match", "load_seed"]

# Keys every v4 profile carries (2018 fixture); filled in when a seed or POST leaves them out.
PROFILE_DEFAULTS: dict[str, Any] = {
    "category": "APPLICANT",
    "status": "NORMAL",
    "checks": [],
    "tasks": [],
    "task_types": [],
    "task_progress": {"completed_count": 0, "total_count": 0},
    "risk": {},
    "tags": [],
    "linked_to": [],
    "events": [],
    "document_images": [],
    "collection_steps": [],
    "has_associates": False,
    "has_collection_steps": False,
    "unresolved_event_types": [],
}
APPLICATION_DEFAULTS: dict[str, Any] = {
    "status": "APPLIED",
    "flag": "AUTOMATING",
    "history": [],
    "flag_history": [],
    "assignments": [],
    "hidden": False,
    "required_tasks": [],
    "approval_blockers": [],
}
API_KEY_NAME = "EMULATOR_KEY"


class ApplicationNotFound(KeyError):
    """No profile holds an application with that id."""


def load_seed(path: str | Path) -> list[dict[str, Any]]:
    """Profiles from a seed file: a JSON list, or an object with a ``profiles`` list."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: cannot read the PassFort seed file: {exc}") from exc
    profiles = document.get("profiles") if isinstance(document, dict) else document
    if not isinstance(profiles, list) or not all(isinstance(item, dict) for item in profiles):
        raise ConfigError(
            f"{path}: expected a JSON list of profiles (or {{'profiles': [...]}})",
            hint="see mappings/passfort-seed.json",
        )
    return profiles


def if_match(header: str | None, etag: str) -> bool:
    """Whether an ``If-Match`` header lets a write through (RFC 9110 section 13.1.1).

    Missing: yes (PassFort documents that for backward compatibility). ``*``: any current
    version. Otherwise one of the listed tags must equal the current one as sent: PassFort's
    tags are weak (``W/"..."``) and it documents sending them back, so RFC strong comparison
    (which never matches a weak tag) is not what it does.
    """
    if header is None or header.strip() == "*":
        return True
    return etag in (tag.strip() for tag in header.split(","))


def passfort_date(when: float) -> str:
    """PassFort's history date format (``2018-01-15 11:39:17``, UTC)."""
    return datetime.fromtimestamp(when, UTC).strftime("%Y-%m-%d %H:%M:%S")


class ProfileStore:
    """Profiles by id, with an index of applications; mutations return webhook envelopes.

    Envelopes carry no ``secret``: delivery adds it.
    """

    def __init__(
        self,
        profiles: list[dict[str, Any]] | None = None,
        *,
        clock: Callable[[], float] = time.time,
        new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
    ) -> None:
        self._clock = clock
        self._new_id = new_id
        self._profiles: dict[str, dict[str, Any]] = {}
        self._applications: dict[str, str] = {}  # application id -> profile id
        self._etags: dict[str, str] = {}
        self._last_etag_time = 0.0
        for profile in profiles or ():
            self.add_profile(profile)

    def __len__(self) -> int:
        return len(self._profiles)

    def profile_ids(self) -> list[str]:
        """Ids in insertion order."""
        return list(self._profiles)

    def profile(self, profile_id: str) -> dict[str, Any] | None:
        """A copy of one profile, or ``None``."""
        found = self._profiles.get(profile_id)
        return None if found is None else copy.deepcopy(found)

    def collected_data(self, profile_id: str) -> tuple[dict[str, Any], str] | None:
        """``(collected_data, etag)`` of one profile, or ``None``."""
        found = self._profiles.get(profile_id)
        if found is None:
            return None
        return copy.deepcopy(found["collected_data"]), self._etags[profile_id]

    # --- mutations ------------------------------------------------------------------------

    def add_profile(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        """Store a profile (ids and standard keys filled in); return a copy of it."""
        profile = copy.deepcopy(dict(raw))
        profile_id = str(profile.get("id") or self._new_id())
        profile["id"] = profile_id
        if profile_id in self._profiles:
            raise ValueError(f"profile {profile_id} already exists")
        profile.setdefault("role", "INDIVIDUAL_CUSTOMER")
        collected = profile.setdefault("collected_data", {})
        if not isinstance(collected, dict):
            raise ValueError("collected_data must be an object")
        collected.setdefault(
            "entity_type", "COMPANY" if profile["role"].startswith("COMPANY") else "INDIVIDUAL"
        )
        profile.setdefault("display_name", _display_name(collected) or profile_id)
        for key, value in PROFILE_DEFAULTS.items():
            profile.setdefault(key, copy.deepcopy(value))
        self._sync_customer_ref(profile)
        now = self._clock()
        applications = profile.setdefault("applications", [])
        for application in applications:
            self._complete_application(application, now)
            if application["id"] in self._applications:
                raise ValueError(f"application {application['id']} already exists")
        self._profiles[profile_id] = profile
        for application in applications:
            self._applications[application["id"]] = profile_id
        self._etags[profile_id] = self._next_etag(now)
        return copy.deepcopy(profile)

    def add_application(self, profile_id: str, product: Mapping[str, Any]) -> dict[str, Any]:
        """Add an application for ``product`` (alias and/or id) to a profile; return it."""
        profile = self._profiles[profile_id]
        application: dict[str, Any] = {"product": dict(product)}
        self._complete_application(application, self._clock())
        profile["applications"].append(application)
        self._applications[application["id"]] = profile_id
        return copy.deepcopy(application)

    def replace_collected_data(
        self, profile_id: str, data: Mapping[str, Any]
    ) -> tuple[dict[str, Any], str, dict[str, Any]]:
        """Replace collected data (full replace, as PassFort does).

        Returns ``(new data, new etag, COLLECTED_DATA_CHANGED envelope)``.
        """
        profile = self._profiles[profile_id]
        old = profile["collected_data"]
        profile["collected_data"] = copy.deepcopy(dict(data))
        if "customer_ref" in data:
            profile["customer_ref"] = data["customer_ref"]
        self._sync_customer_ref(profile)
        now = self._clock()
        self._etags[profile_id] = self._next_etag(now)
        envelope = self.envelope(
            "COLLECTED_DATA_CHANGED",
            profile,
            {"new_data": copy.deepcopy(profile["collected_data"]), "old_data": old},
            now,
        )
        return copy.deepcopy(profile["collected_data"]), self._etags[profile_id], envelope

    def replace_if_match(
        self, profile_id: str, data: Mapping[str, Any], header: str | None
    ) -> tuple[bool, dict[str, Any], str, dict[str, Any] | None]:
        """:meth:`replace_collected_data` when the ``If-Match`` ``header`` lets it through;
        returns ``(written, data, etag, envelope)``: on a mismatch (a 412) the current data and
        etag, and no envelope."""
        current = self.collected_data(profile_id)
        assert current is not None, f"no profile {profile_id}"
        if not if_match(header, current[1]):
            return False, current[0], current[1], None
        new_data, etag, envelope = self.replace_collected_data(profile_id, data)
        return True, new_data, etag, envelope

    def update_application(
        self,
        application_id: str,
        *,
        status: str | None = None,
        flag: str | None = None,
        set_flag: bool = False,
        user: Mapping[str, Any] | None = None,
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """Change an application's status and/or flag; append history; return the
        application and the webhook envelopes the change emits (status first, then badge).

        ``set_flag`` distinguishes "set the flag to ``None``" from "leave the flag alone".
        Setting a value it already has changes nothing and emits nothing.
        """
        profile_id = self._applications.get(application_id)
        if profile_id is None:
            raise ApplicationNotFound(application_id)
        profile = self._profiles[profile_id]
        application = next(item for item in profile["applications"] if item["id"] == application_id)
        now = self._clock()
        envelopes: list[dict[str, Any]] = []
        common = {
            "application_id": application_id,
            "product": copy.deepcopy(application["product"]),
            "user": None if user is None else dict(user),
        }
        if status is not None and status != application["status"]:
            application["status"] = status
            application["history"].append({"date": passfort_date(now), "status": status})
            envelopes.append(
                self.envelope("PRODUCT_STATUS_CHANGED", profile, {**common, "new_status": status}, now)
            )
        if set_flag and flag != application.get("flag"):
            application["flag"] = flag
            application["flag_history"].append({"date": passfort_date(now), "flag": flag})
            envelopes.append(
                self.envelope("PRODUCT_BADGE_CHANGED", profile, {**common, "new_flag": flag}, now)
            )
        return copy.deepcopy(application), envelopes

    def envelope(
        self, event: str, profile: Mapping[str, Any], extra: Mapping[str, Any], when: float | None = None
    ) -> dict[str, Any]:
        """A webhook envelope for ``profile`` (documented shape, without the secret)."""
        data: dict[str, Any] = {
            "apikey": {"name": API_KEY_NAME},
            "customer_ref": profile.get("customer_ref"),
            "profile_id": profile["id"],
            **extra,
        }
        return {
            "id": self._new_id(),
            "event": event,
            "timestamp": int(self._clock() if when is None else when),
            "data": data,
        }

    # --- helpers --------------------------------------------------------------------------

    def _complete_application(self, application: dict[str, Any], now: float) -> None:
        application.setdefault("id", self._new_id())
        product = application.setdefault("product", {})
        product.setdefault("id", self._new_id())
        alias = product.setdefault("alias", f"product_{str(product['id'])[:8]}")
        product.setdefault("name", str(alias).replace("_", " ").title())
        product.setdefault("automatically_approve", False)
        for key, value in APPLICATION_DEFAULTS.items():
            application.setdefault(key, copy.deepcopy(value))
        if not application["history"]:
            application["history"].append({"date": passfort_date(now), "status": application["status"]})
        if not application["flag_history"] and application.get("flag") is not None:
            application["flag_history"].append({"date": passfort_date(now), "flag": application["flag"]})

    def _next_etag(self, now: float) -> str:
        # PassFort's shape, W/"1579973191.798"; bumped so two changes in one ms still differ.
        stamp = max(round(now, 3), round(self._last_etag_time + 0.001, 3))
        self._last_etag_time = stamp
        return f'W/"{stamp:.3f}"'

    @staticmethod
    def _sync_customer_ref(profile: dict[str, Any]) -> None:
        ref = profile.get("customer_ref")
        if ref is None:
            ref = profile["collected_data"].get("customer_ref")
        profile["customer_ref"] = ref
        if ref is not None:
            profile["collected_data"]["customer_ref"] = ref


def _display_name(collected: Mapping[str, Any]) -> str | None:
    metadata = collected.get("metadata")
    if isinstance(metadata, dict) and metadata.get("name"):
        return str(metadata["name"])
    details = collected.get("personal_details")
    if isinstance(details, dict) and isinstance(details.get("name"), dict):
        name = details["name"]
        given = " ".join(str(part) for part in name.get("given_names") or [])
        return " ".join(part for part in (given, str(name.get("family_name") or "")) if part) or None
    return None
