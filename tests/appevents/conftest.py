"""An appevents receiver over real HTTP with an SQLite queue."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from fieldline.adapters.appevents.source import AppEventsSource
from fieldline.queue.sqlite_queue import SQLiteJobQueue
from fieldline.service.app import create_app
from fieldline.testing.server import serve_in_thread
from tests.appevents.support import make_source


@dataclass
class Receiver:
    http: httpx.Client
    queue: SQLiteJobQueue
    source: AppEventsSource

    def post(self, content: bytes, headers: dict[str, str]) -> httpx.Response:
        return self.http.post("/webhooks/appevents", content=content, headers=headers)

    @property
    def queued(self) -> int:
        return self.queue.status().waiting


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[Receiver]:
    source = make_source(tmp_path / "spec", tenants=frozenset({"user-1", "user-2"}))
    queue = SQLiteJobQueue(tmp_path / "q.db")
    app = create_app(queue=queue, sources={"appevents": source})
    with serve_in_thread(app) as url, httpx.Client(base_url=url, timeout=10) as http:
        yield Receiver(http=http, queue=queue, source=source)
    queue.close()
