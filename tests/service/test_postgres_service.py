"""A receiver on PostgreSQL: 503 (never 200) while the database is down, healthy again after."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from fieldline.queue import JobState, open_storage
from fieldline.service.app import create_app
from fieldline.testing.pg_server import PostgresServer, PostgresUnavailable
from fieldline.testing.server import serve_in_thread
from tests.postgres import new_schema, unavailable, with_query
from tests.service.fakes import FakeWebhookSource
from tests.service.test_app import AUTH, body
from tests.waiting import wait_until


@pytest.fixture
def own_server() -> Iterator[PostgresServer]:
    try:
        server = PostgresServer()
        server.init()
        server.start()
    except PostgresUnavailable as exc:
        unavailable(str(exc))
    yield server
    server.remove()


def test_a_receiver_answers_503_while_postgresql_is_down(own_server: PostgresServer) -> None:
    url = with_query(new_schema(own_server.url()), pool_timeout="1")
    with open_storage(url) as storage:
        app = create_app(queue=storage.queue, sources={"fake": FakeWebhookSource()})
        with serve_in_thread(app) as base, httpx.Client(base_url=base, timeout=30) as http:
            assert http.post("/webhooks/fake", content=body(("e1", "p1")), headers=AUTH).status_code == 200
            assert http.get("/healthz").json() == {"ok": True}
            own_server.stop()
            refused = http.post("/webhooks/fake", content=body(("e2", "p1")), headers=AUTH)
            assert refused.status_code == 503
            assert "retry later" in refused.json()["error"]
            health = http.get("/healthz")
            assert health.status_code == 503
            assert health.json()["ok"] is False
            own_server.start()
            wait_until(
                lambda: http.get("/healthz").status_code == 200, poll=0.2, what="healthz after restart"
            )
            again = http.post("/webhooks/fake", content=body(("e2", "p1")), headers=AUTH)
            assert again.status_code == 200
            assert again.json()["queued"] == 1, "the refused event was not stored"
        assert storage.queue.status().counts == {JobState.TODO: 2}
