"""A fake Salesforce behind a requests transport adapter, for tests that need exact responses."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
import requests.adapters
from requests.structures import CaseInsensitiveDict

Reply = tuple[int, Any] | tuple[int, Any, dict[str, str]]
Handler = Callable[["Seen"], Reply]


class Seen:
    """One request as the fake saw it."""

    def __init__(self, request: requests.PreparedRequest) -> None:
        self.method = str(request.method)
        self.url = str(request.url)
        parts = urlsplit(self.url)
        self.path = parts.path
        self.query = {key: values[0] for key, values in parse_qs(parts.query).items()}
        self.headers = dict(request.headers)
        body = request.body
        self.body: Any = body.decode() if isinstance(body, bytes) else body
        self.form: dict[str, str] = {}
        self.json: Any = None
        content_type = self.headers.get("Content-Type", "")
        if self.body and "json" in content_type:
            self.json = json.loads(self.body)
        elif self.body and "x-www-form-urlencoded" in content_type:
            self.form = {key: values[0] for key, values in parse_qs(self.body).items()}


class FakeTransport(requests.adapters.BaseAdapter):
    """Answers every request with ``handler(seen)`` -> ``(status, json body[, headers])``."""

    def __init__(self, handler: Handler) -> None:
        super().__init__()
        self.handler = handler
        self.seen: list[Seen] = []

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        seen = Seen(request)
        self.seen.append(seen)
        reply = self.handler(seen)
        status, body = reply[0], reply[1]
        headers = {"Content-Type": "application/json", "Sforce-Limit-Info": "api-usage=1/15000"}
        if len(reply) == 3:
            headers.update(reply[2])
        response = requests.Response()
        response.status_code = status
        response._content = (
            b"" if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        )
        response.headers = CaseInsensitiveDict(headers)
        response.url = seen.url
        response.request = request
        response.encoding = "utf-8"
        return response

    def close(self) -> None:
        pass

    def paths(self) -> list[str]:
        return [f"{seen.method} {seen.path}" for seen in self.seen]
