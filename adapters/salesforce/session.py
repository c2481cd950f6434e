"""The ``requests.Session`` every Salesforce call goes through.

Two jobs: simple-salesforce always builds ``https://host:port/...`` URLs, so for a plain-HTTP
emulator on loopback the session rewrites ``https://127.0.0.1:PORT`` back to ``http://``; and it
remembers the last response's ``Sforce-Limit-Info`` and ``Retry-After`` headers, which
simple-salesforce's exceptions do not carry.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests

from fieldline.backoff import parse_retry_after

__all__ = ["ApiUsage", "SalesforceSession", "parse_api_usage"]

_API_USAGE = re.compile(r"(?:^|[^-])api-usage=(\d+)/(\d+)")


@dataclass(frozen=True, slots=True)
class ApiUsage:
    """``Sforce-Limit-Info: api-usage=used/limit`` (rolling 24 hours)."""

    used: int
    limit: int

    @property
    def remaining(self) -> int:
        return max(self.limit - self.used, 0)


def parse_api_usage(header: str | None) -> ApiUsage | None:
    """Parse the ``api-usage`` part of ``Sforce-Limit-Info``; ``None`` when absent."""
    if not header:
        return None
    match = _API_USAGE.search(header)
    if match is None:
        return None
    return ApiUsage(int(match.group(1)), int(match.group(2)))


class SalesforceSession(requests.Session):
    """A session that may redirect ``https://`` to a plain-HTTP emulator and that records the
    headers fieldline needs from each response.

    ``plain_http_base`` is the emulator's ``http://host:port``; requests to
    ``https://host:port`` are sent there instead.
    """

    def __init__(self, *, plain_http_base: str | None = None, timeout: float = 60.0) -> None:
        super().__init__()
        self._rewrite_from: str | None = None
        self._rewrite_to: str | None = None
        if plain_http_base:
            parts = urlsplit(plain_http_base.rstrip("/"))
            if parts.scheme == "http":
                self._rewrite_from = f"https://{parts.netloc}"
                self._rewrite_to = f"http://{parts.netloc}"
        self.timeout = timeout
        self.last_api_usage: ApiUsage | None = None
        self.last_retry_after: float | None = None
        self.last_status: int | None = None
        self.calls = 0

    def rewrite(self, url: str) -> str:
        """The URL actually requested (emulator rewrite applied)."""
        if self._rewrite_from and url.startswith(self._rewrite_from):
            return f"{self._rewrite_to}{url[len(self._rewrite_from) :]}"
        return url

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        if isinstance(url, bytes):
            url = url.decode()
        kwargs.setdefault("timeout", self.timeout)
        self.last_retry_after = None
        response = super().request(method, self.rewrite(url), *args, **kwargs)
        self.calls += 1
        self.last_status = response.status_code
        usage = parse_api_usage(response.headers.get("Sforce-Limit-Info"))
        if usage is not None:
            self.last_api_usage = usage
        self.last_retry_after = parse_retry_after(response.headers.get("Retry-After"))
        return response
