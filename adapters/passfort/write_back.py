"""Writing values back into PassFort collected data, without losing anyone's change.

PassFort replaces collected data whole (``POST /profiles/{id}/collected_data``), so a write-back
reads the latest data with its ``Etag``, sets the paths, and posts it with ``If-Match``. A
``412 Precondition Failed`` means someone changed the profile in between: the answer holds the
latest data, the paths are set on *that*, and it is posted again (a few times at most). Nothing
is sent when the profile already has the values.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from fieldline.contracts import WriteBack, WriteBackResult, WriteBackStatus
from fieldline.errors import BudgetExhaustedError, FieldlineError, TransientAdapterError

__all__ = [
    "COLLECTED_DATA",
    "CONFLICT_ATTEMPTS",
    "CollectedDataClient",
    "data_path",
    "differs_only_at",
    "write_back_problem",
    "write_profile",
]

COLLECTED_DATA = "collected_data"
CONFLICT_ATTEMPTS = 5  # 412s in a row before the write-back is handed back to be retried later


class CollectedDataClient(Protocol):
    """The two calls a write-back makes (:class:`~fieldline.adapters.passfort.client.PassFortClient`)."""

    def get_collected_data(self, profile_id: str) -> tuple[dict[str, Any], str | None] | None: ...

    def replace_collected_data(
        self, profile_id: str, data: dict[str, Any], etag: str | None
    ) -> tuple[bool, dict[str, Any] | None, str | None]: ...


def write_back_problem(path: str) -> str | None:
    """Why PassFort cannot take a write-back to ``path``, or ``None``."""
    parts = path.split(".")
    if len(parts) < 2 or parts[0] != COLLECTED_DATA or not all(parts):
        return f"PassFort takes write-backs only into collected data (collected_data.<field>), not {path!r}"
    if parts[1] == "entity_type":
        return "collected_data.entity_type decides the profile's kind; PassFort does not let it change"
    return None


def data_path(path: str) -> tuple[str, ...]:
    """``collected_data.customer_ref`` -> ``("customer_ref",)``: the path inside collected data."""
    return tuple(path.split(".")[1:])


def _with_values(data: Mapping[str, Any], values: Mapping[tuple[str, ...], Any]) -> dict[str, Any]:
    updated = copy.deepcopy(dict(data))
    for parts, value in values.items():
        node = updated
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        node[parts[-1]] = value
    return updated


def _without(data: Any, paths: Sequence[tuple[str, ...]]) -> Any:
    if not isinstance(data, dict):
        return data
    stripped = copy.deepcopy(data)
    for parts in paths:
        node: Any = stripped
        for part in parts[:-1]:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node.pop(parts[-1], None)
    return stripped


def differs_only_at(old: Any, new: Any, paths: Sequence[tuple[str, ...]]) -> bool:
    """Whether ``new`` differs from ``old`` and only at ``paths`` (inside collected data)."""
    if not isinstance(old, dict) or not isinstance(new, dict) or old == new:
        return False
    return bool(_without(old, paths) == _without(new, paths))


def write_profile(
    client: CollectedDataClient, profile_id: str, writes: Sequence[WriteBack]
) -> list[WriteBackResult]:
    """Every write-back of one profile, in one read and (when anything differs) one write."""
    values = {data_path(write.path): write.value for write in writes}

    def results(status: WriteBackStatus, error: str | None = None, **extra: Any) -> list[WriteBackResult]:
        return [
            WriteBackResult(key=write.key, path=write.path, status=status, error=error, **extra)
            for write in writes
        ]

    try:
        found = client.get_collected_data(profile_id)
        if found is None:
            return results(WriteBackStatus.FAILED, f"PassFort has no profile {profile_id} (404)")
        data: dict[str, Any] | None
        data, etag = found
        for _ in range(CONFLICT_ATTEMPTS):
            if data is None:  # a 412 without the latest data: read it
                found = client.get_collected_data(profile_id)
                if found is None:
                    return results(WriteBackStatus.FAILED, f"PassFort has no profile {profile_id} (404)")
                data, etag = found
            updated = _with_values(data, values)
            if updated == data:
                return results(WriteBackStatus.UNCHANGED)
            written, data, etag = client.replace_collected_data(profile_id, updated, etag)
            if written:
                return results(WriteBackStatus.WRITTEN)
    except (TransientAdapterError, BudgetExhaustedError) as exc:
        return results(WriteBackStatus.FAILED, str(exc), retriable=True, retry_after=exc.retry_after)
    except FieldlineError as exc:
        return results(WriteBackStatus.FAILED, str(exc))
    return results(
        WriteBackStatus.FAILED,
        f"PassFort answered 412 Precondition Failed {CONFLICT_ATTEMPTS} times in a row for profile "
        f"{profile_id}: its collected data keeps changing; tried again later",
        retriable=True,
    )
