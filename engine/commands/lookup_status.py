"""The lookups part of ``fieldline status --service URL``: read from the running service.

Lookup call statistics live in the service's memory (they are about calls, not queued work),
so ``status`` asks the service's ``GET /status`` for them, with the operator token.
"""

from __future__ import annotations

from typing import Any

from rich.table import Table

from fieldline.errors import ConfigError
from fieldline.service.status import format_time

__all__ = ["fetch_lookup_status", "lookup_status_table"]


def fetch_lookup_status(url: str) -> dict[str, Any]:
    """``{"lookups": ..., "specs": ...}`` from the service at ``url``; ConfigError when unreachable."""
    import httpx

    from fieldline.config import operator_token

    token = operator_token()
    headers = {"Authorization": f"Bearer {token.reveal()}"} if token is not None else {}
    try:
        response = httpx.get(f"{url.rstrip('/')}/status", headers=headers, timeout=10)
    except httpx.HTTPError as exc:
        raise ConfigError(
            f"cannot reach the service at {url}: {type(exc).__name__}", hint="check --service URL"
        ) from exc
    if response.status_code != 200:
        raise ConfigError(
            f"the service at {url} answered {response.status_code} to GET /status",
            hint="set FIELDLINE_OPERATOR_TOKEN to the service's operator token",
        )
    document = response.json()
    return {"lookups": document.get("lookups", {}), "specs": document.get("specs", {})}


def lookup_status_table(document: dict[str, Any]) -> Table:
    """One row per lookup, then one per spec: last success, last failure and error, last hour."""
    table = Table(title="Lookups")
    for column in ("lookup / spec", "last success", "last failure", "last hour ok / failed", "last error"):
        table.add_column(column)
    rows = [(name, stats) for name, stats in document.get("lookups", {}).items()]
    rows += [(f"spec {name}", stats) for name, stats in document.get("specs", {}).items()]
    for name, stats in rows:
        hour = stats.get("last_hour") or {}
        table.add_row(
            name,
            format_time(stats.get("last_success")),
            format_time(stats.get("last_failure")),
            f"{hour.get('succeeded', 0)} / {hour.get('failed', 0)}",
            str(stats.get("last_error") or ""),
        )
    return table
