"""A per-run cap on API calls: a share of what the org has left today.

Salesforce reports ``api-usage=used/limit`` on every response. With ``budget_share`` 0.5 a run
may use at most half of the calls the org had left when the run started, so a backfill never
starves the org's other integrations.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from fieldline.adapters.salesforce.session import ApiUsage
from fieldline.errors import BudgetExhaustedError

__all__ = ["ApiBudget"]


@dataclass(slots=True)
class ApiBudget:
    """Counts this run's API calls against ``share`` of the org's remaining daily calls.

    The cap is fixed from the first ``Sforce-Limit-Info`` seen (``None`` until then, or when no
    share is configured). :meth:`check` raises before a call that would exceed it.
    """

    share: float | None = None
    used: int = 0
    cap: int | None = None
    last_usage: ApiUsage | None = None
    suspended: bool = False

    @contextmanager
    def committed(self, calls: int) -> Iterator[None]:
        """Check once that ``calls`` more calls fit, then let the block make them unchecked.

        For work that must finish once started: a Bulk job whose data is uploaded is processed by
        Salesforce whatever we do, so its polls and results are fetched even past the cap
        (otherwise the records it wrote would go unrecorded and be created again next run).
        """
        self.check(calls)
        self.suspended = True
        try:
            yield
        finally:
            self.suspended = False

    def observe(self, usage: ApiUsage | None) -> None:
        """Record the org's usage reported by the latest response."""
        if usage is None:
            return
        if self.cap is None and self.share is not None:
            # The response that reported `usage` was itself one of this run's calls.
            self.cap = int(self.share * (usage.remaining + self.used))
        self.last_usage = usage

    def add(self, calls: int) -> None:
        """``calls`` more API calls were made."""
        self.used += calls

    def check(self, calls: int = 1) -> None:
        """Raise :class:`BudgetExhaustedError` when the next ``calls`` calls would pass the cap.

        The org's own daily limit is left to Salesforce (403 ``REQUEST_LIMIT_EXCEEDED``): the
        usage header is a rolling window, so a long-lived worker must not refuse on stale news.
        Inside :meth:`committed` nothing is refused.
        """
        if self.suspended:
            return
        if self.cap is not None and self.used + calls > self.cap:
            share = f" ({self.share:.0%} of what the org had left)" if self.share is not None else ""
            needs = f"; the next step needs {calls}" if calls > 1 else ""
            raise BudgetExhaustedError(
                f"this run used its Salesforce API budget: {self.used} of {self.cap} calls{share}{needs}",
                hint="raise target.options.budget_share or run again after the daily limit resets",
                used=self.used,
                cap=self.cap,
            )
