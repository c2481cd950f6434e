"""Webhook delivery the way PassFort describes it: in order, retried until exactly 200.

One asyncio task drains a FIFO queue. The head (one envelope, or up to ``batch_size`` of them
as a JSON list when batching) is posted until the receiver answers 200, with capped
exponential backoff between attempts; nothing behind it moves meanwhile (head-of-line
blocking, as guaranteed ordering implies). Each request carries the shared secret twice:
``Authorization: Bearer <secret>`` and ``"secret"`` in every envelope.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any, TypedDict

import httpx

from fieldline.backoff import backoff_delay

__all__ = ["DeliveryConfig", "DeliveryStatus", "WebhookDelivery"]

AUTH_MODES = ("both", "header", "body", "none")


@dataclass(frozen=True, slots=True)
class DeliveryConfig:
    """Where and how webhooks go.

    ``batch_interval``: seconds waited before each batch is taken (PassFort: "approximately
    every 0-10 seconds"); ``auth``: where the secret goes (``both`` is what PassFort does;
    the others exist to test receivers).
    """

    deliver_to: str | None = None
    secret: str = ""
    batch: bool = False
    batch_size: int = 100
    batch_interval: float = 5.0
    backoff_base: float = 0.5
    backoff_cap: float = 30.0
    timeout: float = 10.0
    auth: str = "both"


class DeliveryStatus(TypedDict):
    """``GET /_emulator/deliveries``."""

    deliver_to: str | None
    batch: bool
    pending: int
    in_flight: int
    delivered: int
    requests: int
    failed_requests: int
    consecutive_failures: int
    last_error: str | None
    last_delivered_id: str | None
    paused: bool


class WebhookDelivery:
    """The outgoing webhook queue and its single sender task."""

    def __init__(self, config: DeliveryConfig) -> None:
        self.config = config
        self._queue: deque[dict[str, Any]] = deque()
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._paused = False
        self._in_flight = 0
        self._delivered = 0
        self._requests = 0
        self._failed = 0
        self._consecutive_failures = 0
        self._last_error: str | None = None
        self._last_delivered_id: str | None = None

    # --- control --------------------------------------------------------------------------

    def enqueue(self, envelopes: Iterable[dict[str, Any]]) -> None:
        """Queue envelopes (without secret) behind everything already waiting."""
        self._queue.extend(envelopes)
        self._wakeup.set()

    def reconfigure(self, **changes: Any) -> DeliveryConfig:
        """Change the config (target URL, batching, backoff); takes effect on the next attempt."""
        self.config = replace(self.config, **changes)
        self._wakeup.set()
        return self.config

    def pause(self, paused: bool) -> None:
        """Hold (or resume) delivery; queued webhooks wait."""
        self._paused = paused
        self._wakeup.set()

    def status(self) -> DeliveryStatus:
        """Queue counters for ``GET /_emulator/deliveries``."""
        return {
            "deliver_to": self.config.deliver_to,
            "batch": self.config.batch,
            "pending": len(self._queue),
            "in_flight": self._in_flight,
            "delivered": self._delivered,
            "requests": self._requests,
            "failed_requests": self._failed,
            "consecutive_failures": self._consecutive_failures,
            "last_error": self._last_error,
            "last_delivered_id": self._last_delivered_id,
            "paused": self._paused,
        }

    async def start(self) -> None:
        """Start the sender task (call from the running event loop)."""
        self._task = asyncio.create_task(self._run(), name="passfort-webhook-delivery")

    async def stop(self) -> None:
        """Stop the sender; undelivered webhooks are dropped with the emulator."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    # --- the sender -----------------------------------------------------------------------

    def _ready(self) -> bool:
        return bool(self._queue) and self.config.deliver_to is not None and not self._paused

    async def _run(self) -> None:
        async with httpx.AsyncClient(
            headers={"user-agent": "PassFort-Webhooks (fieldline emulator)"}
        ) as http:
            while True:
                if not self._ready():
                    self._wakeup.clear()
                    await self._wakeup.wait()
                    continue
                if self.config.batch and self.config.batch_interval > 0:
                    await asyncio.sleep(self.config.batch_interval)
                size = max(1, self.config.batch_size) if self.config.batch else 1
                head = [self._queue[index] for index in range(min(size, len(self._queue)))]
                await self._deliver(http, head, as_list=self.config.batch)

    async def _deliver(self, http: httpx.AsyncClient, head: list[dict[str, Any]], *, as_list: bool) -> None:
        """Post ``head`` until a 200, then drop it from the queue."""
        self._in_flight = len(head)
        failures = 0
        try:
            while True:
                while not self._ready():  # paused or target removed mid-retry: wait, keep order
                    self._wakeup.clear()
                    await self._wakeup.wait()
                config = self.config
                url = config.deliver_to
                if url is None:  # unreachable: _ready() checked it; keeps the type narrow
                    continue
                body, headers = _request(head, config, as_list=as_list)
                self._requests += 1
                try:
                    response = await http.post(url, content=body, headers=headers, timeout=config.timeout)
                    error = None if response.status_code == 200 else f"HTTP {response.status_code}"
                except httpx.HTTPError as exc:
                    error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                if error is None:
                    for _ in head:
                        self._queue.popleft()
                    self._delivered += len(head)
                    self._last_delivered_id = str(head[-1].get("id"))
                    self._consecutive_failures = 0
                    return
                self._failed += 1
                self._consecutive_failures += 1
                self._last_error = error
                await asyncio.sleep(backoff_delay(failures, base=config.backoff_base, cap=config.backoff_cap))
                failures += 1
        finally:
            self._in_flight = 0


def _request(
    head: list[dict[str, Any]], config: DeliveryConfig, *, as_list: bool
) -> tuple[bytes, dict[str, str]]:
    headers = {"content-type": "application/json"}
    if config.auth in ("both", "header"):
        headers["authorization"] = f"Bearer {config.secret}"
    if config.auth in ("both", "body"):
        envelopes = [{**envelope, "secret": config.secret} for envelope in head]
    else:
        envelopes = list(head)
    payload: Any = envelopes if as_list else envelopes[0]
    return json.dumps(payload, separators=(",", ":")).encode(), headers
