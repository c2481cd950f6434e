"""PassFort webhook event names and which of them a spec enables.

Only ``PRODUCT_STATUS_CHANGED`` and ``COLLECTED_DATA_UPDATED`` are confirmed strings; the others
follow PassFort's naming pattern (see ``docs/passfort.md``). The badge event's real string is
unconfirmed, so ``PRODUCT_BADGE_CHANGED`` and ``PRODUCT_FLAG_CHANGED`` are treated as one event.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = [
    "COLLECTED_DATA_EVENTS",
    "DEFAULT_EVENTS",
    "EVENT_ALIASES",
    "KNOWN_EVENTS",
    "EnabledEvents",
    "canonical_event",
]

PRODUCT_STATUS_CHANGED = "PRODUCT_STATUS_CHANGED"
PRODUCT_BADGE_CHANGED = "PRODUCT_BADGE_CHANGED"
PRODUCT_FLAG_CHANGED = "PRODUCT_FLAG_CHANGED"
COLLECTED_DATA_CHANGED = "COLLECTED_DATA_CHANGED"
COLLECTED_DATA_UPDATED = "COLLECTED_DATA_UPDATED"
COLLECTED_DATA_EVENTS = frozenset({COLLECTED_DATA_CHANGED, COLLECTED_DATA_UPDATED})
"""The events a change of collected data sends (PassFort documents the second; the emulator
sends the first)."""

KNOWN_EVENTS: frozenset[str] = frozenset(
    {
        PRODUCT_STATUS_CHANGED,
        PRODUCT_BADGE_CHANGED,
        PRODUCT_FLAG_CHANGED,
        "COLLECTED_DATA_UPDATED",
        COLLECTED_DATA_CHANGED,
        "RISK_LEVEL_CHANGED",
        "RISK_SCORE_CHANGED",
        "CHECK_COMPLETED",
        "TASK_CREATED",
        "TASK_STATE_CHANGED",
        "FORM_STATE_CHANGED",
        "MANUAL_ACTION_REQUIRED",
        "CUSTOMER_REQUEST_CHANGED",
        "EVENTS_CREATED",
        "EVENTS_UPDATED",
        "PROFILE_STATUS_CHANGED",
        "TASK_IS_COMPLETE_CHANGED",
        "COLLECTION_STEPS_COMPLETED",
    }
)
"""Every event string fieldline knows about (most are PassFort's naming pattern, unconfirmed)."""

EVENT_ALIASES: dict[str, str] = {PRODUCT_FLAG_CHANGED: PRODUCT_BADGE_CHANGED}
"""Spellings folded onto one canonical name before comparing."""

DEFAULT_EVENTS: tuple[str, ...] = (PRODUCT_STATUS_CHANGED, PRODUCT_BADGE_CHANGED)
"""Enabled when a spec's ``source.options.events`` is not given."""


def canonical_event(name: str) -> str:
    """``name`` upper-cased with aliases folded (``PRODUCT_FLAG_CHANGED`` -> ``..._BADGE_...``)."""
    upper = name.strip().upper()
    return EVENT_ALIASES.get(upper, upper)


class EnabledEvents:
    """The set of event types a spec syncs on; everything else is recorded but not synced."""

    __slots__ = ("_names",)

    def __init__(self, names: Iterable[str] | None = None) -> None:
        chosen = DEFAULT_EVENTS if names is None else tuple(names)
        self._names = frozenset(canonical_event(name) for name in chosen)

    def __contains__(self, event: object) -> bool:
        return isinstance(event, str) and canonical_event(event) in self._names

    def __repr__(self) -> str:
        return f"EnabledEvents({sorted(self._names)!r})"

    @property
    def names(self) -> frozenset[str]:
        """The canonical names enabled."""
        return self._names
