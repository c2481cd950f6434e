"""Connection limits for the webhook receiver under uvicorn: slow senders cannot keep others out.

uvicorn times out idle kept-alive connections only after a first response, and has no limit on
how long the headers of a request may take. A few hundred connections that send half a request
line and wait hold file descriptors for ever, and once the process runs out of them no sender is
accepted at all. So the receiver runs uvicorn with:

- a header timeout: from a connection's start (or the end of its previous response) its next
  request's headers must be in within ``header_timeout`` seconds, else the connection is closed;
- a connection limit: a connection beyond ``max_connections`` open ones is closed at once, so the
  process keeps descriptors for its database and for the connections it serves (uvicorn's own
  ``limit_concurrency`` only answers 503 to requests, and only once their headers are in);
- a limit on the size of a request head (431; httptools has none of its own);
- uvicorn's keep-alive timeout.

The body has its own deadline in the receiver (:attr:`ServiceSettings.body_timeout`, 408).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any, ClassVar

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = ["ConnectionLimits", "protocol_class", "uvicorn_options"]

logger = logging.getLogger("fieldline.service")

_HEAD_TOO_LARGE = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
    b"content-type: text/plain; charset=utf-8\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
)


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    """How long a sender may take and how many connections are served at once."""

    header_timeout: float = 10.0  # seconds for a request's headers (nginx allows 60; PassFort is a server)
    keep_alive_timeout: int = 5  # idle seconds between requests on a kept-alive connection
    max_connections: int = 900  # under the usual 1,024 descriptors, with room for the database
    max_header_bytes: int = 64 * 1024  # request line and headers; a webhook needs a few hundred bytes


class _RefusalLog:
    """At most one log line per ``every`` seconds about refused connections, with the count."""

    def __init__(self, every: float = 10.0) -> None:
        self.every = every
        self.count = 0
        self.last = -every

    def note(self, what: str) -> None:
        self.count += 1
        now = time.monotonic()
        if now - self.last >= self.every:
            logger.warning("webhook receiver: %s (%d since the last report)", what, self.count)
            self.count = 0
            self.last = now


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a header timeout and a connection limit."""

    limits: ClassVar[ConnectionLimits] = ConnectionLimits()
    refusals: ClassVar[_RefusalLog]
    _header_timer: asyncio.TimerHandle | None = None
    _head_bytes = 0  # bytes received towards the current request's headers

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.limits.max_connections:
            self.refusals.note(f"closed connections over the limit of {self.limits.max_connections}")
            transport.close()
            return
        self._await_headers()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._request_in_progress():  # counted only while the head is incomplete
            self._head_bytes = 0
            return
        self._head_bytes += len(data)
        if self._head_bytes > self.limits.max_header_bytes and not self.transport.is_closing():
            self.refusals.note(f"refused request heads over {self.limits.max_header_bytes} bytes (431)")
            self.transport.write(_HEAD_TOO_LARGE)
            self.transport.close()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._await_headers()  # the next request on this connection gets the same deadline

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_waiting()
        super().connection_lost(exc)

    def _await_headers(self) -> None:
        self._stop_waiting()
        if not self.transport.is_closing():
            self._header_timer = self.loop.call_later(self.limits.header_timeout, self._headers_overdue)

    def _stop_waiting(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_overdue(self) -> None:
        self._header_timer = None
        if not self._request_in_progress() and not self.transport.is_closing():
            self.refusals.note(
                f"closed connections whose request headers took over {self.limits.header_timeout:g} s"
            )
            self.transport.close()

    def _request_in_progress(self) -> bool:
        # uvicorn makes a new cycle when a request's headers are complete; between requests
        # ``cycle`` is the previous, finished one (or none yet).
        cycle = self.cycle
        return cycle is not None and not cycle.response_complete


def protocol_class(limits: ConnectionLimits) -> type[asyncio.Protocol]:
    """uvicorn's ``http=`` protocol class enforcing ``limits``."""

    class Protocol(GuardedHttpToolsProtocol):
        pass

    Protocol.limits = limits
    Protocol.refusals = _RefusalLog()
    return Protocol


def uvicorn_options(limits: ConnectionLimits) -> dict[str, Any]:
    """Keyword arguments for :class:`uvicorn.Config` that apply ``limits``."""
    return {
        "http": protocol_class(limits),
        # Connections beyond the limit are closed on arrival; this bounds request tasks too (a
        # closed connection's task can outlive it). +1: uvicorn counts the asking connection.
        "limit_concurrency": limits.max_connections + 1,
        "timeout_keep_alive": limits.keep_alive_timeout,
    }
