"""The webhook receiver over real HTTP: verify, commit, then 200; refusals with their status."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from fieldline.config import Secret
from fieldline.errors import QueueError
from fieldline.queue import EnqueueGroup, EnqueueResult, JobState
from fieldline.queue.sqlite_queue import SQLiteJobQueue
from fieldline.service.admin_auth import AdminAccess
from fieldline.service.app import GroupCommitter, ServiceSettings, create_app
from fieldline.testing.server import serve_in_thread
from tests.service.fakes import SECRET, FakeWebhookSource

AUTH = {"authorization": f"Bearer {SECRET}"}
OPERATOR_TOKEN = "operator-token-for-tests"
OPERATOR = {"authorization": f"Bearer {OPERATOR_TOKEN}"}


def body(*events: tuple[str, str], event_type: str = "PRODUCT_STATUS_CHANGED", **data: Any) -> bytes:
    return json.dumps(
        [{"id": i, "event": event_type, "key": k, "t": 5, "data": data} for i, k in events]
    ).encode()


class Service:
    def __init__(self, url: str, queue: SQLiteJobQueue, wake: threading.Event) -> None:
        self.url = url
        self.queue = queue
        self.wake = wake
        self.http = httpx.Client(base_url=url, timeout=10)

    def post(
        self, content: bytes, headers: dict[str, str] | None = None, source: str = "fake"
    ) -> httpx.Response:
        return self.http.post(
            f"/webhooks/{source}", content=content, headers=AUTH if headers is None else headers
        )


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    queue = SQLiteJobQueue(tmp_path / "q.db")
    wake = threading.Event()
    started: list[str] = []
    app = create_app(
        queue=queue,
        sources={"fake": FakeWebhookSource()},
        settings=ServiceSettings(max_body_bytes=2000, stalled_after=60),
        on_startup=lambda: started.append("up"),
        wake=wake,
        admin=AdminAccess(token=Secret(OPERATOR_TOKEN)),
    )
    with serve_in_thread(app) as url:
        assert started == ["up"]
        handle = Service(url, queue, wake)
        yield handle
        handle.http.close()
    queue.close()


def test_events_are_committed_before_the_200(service: Service) -> None:
    response = service.post(body(("e1", "p1"), ("e2", "p2")))
    assert response.status_code == 200
    assert response.json() == {"accepted": 2, "queued": 2, "duplicates": 0, "ignored": 0}
    assert service.queue.status().counts == {JobState.TODO: 2}
    assert service.wake.is_set(), "in-process workers are woken after the commit"


def test_replayed_event_is_acknowledged_once(service: Service) -> None:
    service.post(body(("e1", "p1")))
    again = service.post(body(("e1", "p1")))
    assert again.status_code == 200
    assert again.json()["duplicates"] == 1
    assert service.queue.status().counts == {JobState.TODO: 1}


def test_disabled_event_types_are_recorded_as_ignored(service: Service) -> None:
    response = service.post(body(("e1", "p1"), event_type="RISK_LEVEL_CHANGED"))
    assert response.json()["ignored"] == 1
    assert service.queue.status().counts == {JobState.IGNORED: 1}
    assert service.queue.claim("w", limit=10) == []


@pytest.mark.parametrize(
    ("headers", "content", "status"),
    [
        pytest.param({"authorization": "Bearer wrong"}, body(("e1", "p1")), 401, id="wrong-secret"),
        pytest.param({}, body(("e1", "p1")), 401, id="no-secret"),
        pytest.param(AUTH, b"{not json", 400, id="malformed"),
        pytest.param(AUTH, b'[{"id": "e1"}]', 400, id="missing-fields"),
    ],
)
def test_refused_requests_store_nothing(
    service: Service, headers: dict[str, str], content: bytes, status: int
) -> None:
    response = service.post(content, headers)
    assert response.status_code == status
    assert "error" in response.json()
    assert service.queue.status().counts == {}


def test_oversized_bodies_are_refused_with_413(service: Service) -> None:
    big = body(*((f"e{i}", "p1") for i in range(100)))
    assert len(big) > 2000
    assert service.post(big).status_code == 413

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit applies while streaming
        yield big[:1500]
        yield big[1500:]

    streamed = service.http.post("/webhooks/fake", content=chunks(), headers=AUTH)
    assert streamed.status_code == 413
    assert service.queue.status().counts == {}


def test_unknown_source_is_404(service: Service) -> None:
    response = service.post(body(("e1", "p1")), source="salesforce")
    assert response.status_code == 404
    assert "/webhooks/fake" in response.json()["error"]


def test_status_and_health(service: Service) -> None:
    service.post(body(("e1", "p1"), ("e2", "p1")))
    status = service.http.get("/status", headers=OPERATOR).json()
    assert (status["health"], status["summary"], status["waiting"]) == ("waiting", "Waiting 2", 2)
    assert status["counts"]["todo"] == 2
    assert service.http.get("/healthz").json() == {"ok": True}


def test_secrets_in_payloads_are_not_stored(service: Service) -> None:
    service.post(body(("e1", "p1"), secret="leaked", apikey={"name": "KEY"}, application_id="a1"))
    [job] = service.queue.claim("w", limit=1)
    assert job.payload == {"secret": "***", "apikey": "***", "application_id": "a1"}


def test_concurrent_requests_all_commit(service: Service) -> None:
    errors: list[int] = []

    def send(index: int) -> None:
        with httpx.Client(base_url=service.url, timeout=10) as client:
            for n in range(10):
                response = client.post(
                    "/webhooks/fake", content=body((f"e{index}-{n}", f"p{n}")), headers=AUTH
                )
                if response.status_code != 200:
                    errors.append(response.status_code)

    threads = [threading.Thread(target=send, args=(index,)) for index in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert service.queue.status().counts == {JobState.TODO: 40}


class BrokenQueue(SQLiteJobQueue):
    def enqueue_groups(self, groups: Any) -> list[EnqueueResult]:
        raise QueueError("disk I/O error")


def test_queue_failure_answers_503_so_the_sender_retries(tmp_path: Path) -> None:
    queue = BrokenQueue(tmp_path / "q.db")
    app = create_app(queue=queue, sources={"fake": FakeWebhookSource()})
    with serve_in_thread(app) as url, httpx.Client(base_url=url) as client:
        response = client.post("/webhooks/fake", content=body(("e1", "p1")), headers=AUTH)
    queue.close()
    assert response.status_code == 503
    assert "retry" in response.json()["error"]


def test_group_commit_takes_every_waiting_request_in_one_transaction(tmp_path: Path) -> None:
    queue = SQLiteJobQueue(tmp_path / "q.db")
    committer = GroupCommitter(queue)
    from tests.service.fakes import event

    async def scenario() -> list[EnqueueResult]:
        pending = [
            asyncio.ensure_future(committer.submit(EnqueueGroup("fake", [event(f"e{i}", "p1")])))
            for i in range(20)
        ]
        pending.append(asyncio.ensure_future(committer.submit(EnqueueGroup("fake", [event("e0", "p1")]))))
        # One turn of the loop runs every submit up to its wait (they are ahead of us in the ready
        # queue), so every request is waiting before the writer starts: no wall-clock pause needed.
        await asyncio.sleep(0)
        committer.start()
        return list(await asyncio.gather(*pending))

    results = asyncio.run(scenario())
    committer.stop()
    queue.close()
    assert committer.commits == 1
    assert [result.queued for result in results] == [1] * 20 + [0]
    assert results[-1].duplicates == 1
