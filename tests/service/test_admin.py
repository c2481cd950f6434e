"""Admin endpoints and health: /status for operators only, /healthz open and content-free,
the ``Host`` check, and clear answers while the storage fails."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Any

import httpx
import pytest

from fieldline.config import Secret
from fieldline.errors import QueueError
from fieldline.queue import QueueStatus
from fieldline.queue.sqlite_queue import SQLiteJobQueue
from fieldline.service.admin_auth import AdminAccess, default_allowed_hosts
from fieldline.service.app import ServiceSettings, create_app
from fieldline.service.health import StorageProbe
from fieldline.testing.server import serve_in_thread
from tests.service.fakes import SECRET, FakeWebhookSource, event
from tests.service.test_app import AUTH, body

TOKEN = "operator-token-0123456789"
OPERATOR = {"authorization": f"Bearer {TOKEN}"}
PII = "jane.doe@example.com"  # a source value quoted by an error text


@pytest.fixture
def queue(tmp_path: Path) -> Iterator[SQLiteJobQueue]:
    with SQLiteJobQueue(tmp_path / "q.db") as opened:
        opened.enqueue([event("e1", PII)], source="fake")
        [job] = opened.claim("w")
        opened.fail(job, f"INVALID_EMAIL_ADDRESS: Email: invalid email address: {PII}")
        yield opened


def serve(queue: Any, admin: AdminAccess | None = None, **settings: Any) -> Any:
    app = create_app(
        queue=queue, sources={"fake": FakeWebhookSource()}, settings=ServiceSettings(**settings), admin=admin
    )
    return serve_in_thread(app)


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="no-token"),
        pytest.param({"authorization": "Bearer wrong-token-0123456789"}, id="wrong-token"),
        pytest.param({"authorization": f"Basic {TOKEN}"}, id="wrong-scheme"),
        pytest.param({"authorization": f"Bearer {SECRET}"}, id="the-webhook-secret"),
        pytest.param([("authorization", f"Bearer {TOKEN}"), ("authorization", "Bearer x")], id="two-headers"),
        pytest.param(
            [("authorization", "Bearer x"), ("authorization", f"Bearer {TOKEN}")], id="two-reversed"
        ),
    ],
)
def test_status_needs_the_operator_token(
    queue: SQLiteJobQueue, headers: Any, caplog: pytest.LogCaptureFixture
) -> None:
    with (
        caplog.at_level(logging.WARNING, logger="fieldline.service"),
        serve(queue, AdminAccess(token=Secret(TOKEN))) as url,
    ):
        refused = httpx.get(f"{url}/status", headers=headers, timeout=10)
        allowed = httpx.get(f"{url}/status", headers=OPERATOR, timeout=10)
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"].startswith("Bearer")
    assert refused.json() == {"error": "operator token required"}
    assert PII not in refused.text
    assert allowed.status_code == 200
    assert PII in allowed.text, "the operator sees the failure as it is"
    [line] = [record for record in caplog.records if "refused (401)" in record.getMessage()]
    assert line.exc_info is None
    assert TOKEN not in caplog.text


def test_without_a_token_status_answers_loopback_clients_only(queue: SQLiteJobQueue) -> None:
    with serve(queue) as url:
        assert httpx.get(f"{url}/status", timeout=10).status_code == 200, "over loopback: served"

    app = create_app(queue=queue, sources={"fake": FakeWebhookSource()})

    async def from_elsewhere() -> httpx.Response:
        transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            return await client.get("/status", headers=OPERATOR)

    response = asyncio.run(from_elsewhere())
    assert response.status_code == 403
    assert PII not in response.text
    assert "loopback" in response.json()["error"]


@pytest.mark.parametrize(
    ("path", "method"), [("/status", "GET"), ("/healthz", "GET"), ("/webhooks/fake", "POST")]
)
def test_unknown_host_names_are_refused(
    queue: SQLiteJobQueue, path: str, method: str, caplog: pytest.LogCaptureFixture
) -> None:
    access = AdminAccess(
        token=Secret(TOKEN), allowed_hosts=default_allowed_hosts("127.0.0.1", ["crm.example"])
    )
    with caplog.at_level(logging.WARNING, logger="fieldline.service"), serve(queue, access) as url:
        evil = httpx.request(
            method, f"{url}{path}", headers={**OPERATOR, "host": "rebind.attacker.test"}, timeout=10
        )
        named = httpx.request(method, f"{url}{path}", headers={**OPERATOR, "host": "crm.example"}, timeout=10)
    assert evil.status_code == 400
    assert PII not in evil.text
    assert named.status_code != 400
    [line] = [record for record in caplog.records if "is not allowed" in record.getMessage()]
    assert "rebind.attacker.test" in line.getMessage()
    assert line.exc_info is None


def test_default_hosts_are_loopback_and_the_bind_host() -> None:
    loopback = ["localhost", "127.0.0.1", "[::1]"]
    assert default_allowed_hosts("10.0.0.5") == [*loopback, "10.0.0.5"]
    assert default_allowed_hosts("0.0.0.0", ["CRM.example"]) == [*loopback, "crm.example"]
    assert default_allowed_hosts("::", ["fd00::5"]) == [*loopback, "[fd00::5]"]
    assert default_allowed_hosts("::1") == loopback


@pytest.mark.parametrize("host", ["localhost:8000", "127.0.0.1", "[::1]:8000", "LOCALHOST"])
def test_loopback_names_are_answered_by_default(queue: SQLiteJobQueue, host: str) -> None:
    with serve(queue) as url:
        response = httpx.get(f"{url}/healthz", headers={"host": host}, timeout=10)
    assert response.status_code == 200


class FailingDisk(SQLiteJobQueue):
    """Reads and writes fail the way SQLite reports EIO (or a full disk, with ``full``)."""

    failing = True
    full = False

    def _error(self) -> QueueError:
        reason = "database or disk is full" if self.full else "disk I/O error"
        return QueueError(f"{self.path}: queue write failed: {reason}")

    def status(self, *, stalled_after: float = 300.0, source: str | None = None) -> QueueStatus:
        if self.failing:
            raise self._error()
        return super().status(stalled_after=stalled_after, source=source)

    def check_writable(self) -> None:
        if self.failing:
            raise self._error()
        super().check_writable()


def test_status_on_a_failing_disk_is_a_clear_503(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with FailingDisk(tmp_path / "q.db") as queue:
        with caplog.at_level(logging.ERROR, logger="fieldline.service"), serve(queue) as url:
            response = httpx.get(f"{url}/status", headers=OPERATOR, timeout=10)
        assert response.status_code == 503
        assert response.json() == {"error": "the queue status cannot be read now; see the service log"}
        [line] = [record for record in caplog.records if "GET /status" in record.getMessage()]
        assert "disk I/O error" in line.getMessage()
        assert line.exc_info is None


@pytest.mark.parametrize("full", [pytest.param(False, id="EIO"), pytest.param(True, id="disk-full")])
def test_health_says_when_the_queue_cannot_store(
    tmp_path: Path, full: bool, caplog: pytest.LogCaptureFixture
) -> None:
    with FailingDisk(tmp_path / "q.db") as queue:
        queue.full = full
        with (
            caplog.at_level(logging.INFO, logger="fieldline.service"),
            serve(queue, health_probe_interval=0) as url,
        ):
            failing = [httpx.get(f"{url}/healthz", timeout=10) for _ in range(3)]
            queue.failing = False
            healed = httpx.get(f"{url}/healthz", timeout=10)
    assert [(r.status_code, r.json()) for r in failing] == [(503, {"ok": False})] * 3
    assert (healed.status_code, healed.json()) == (200, {"ok": True})
    reasons = [record.getMessage() for record in caplog.records if record.getMessage().startswith("health:")]
    assert len(reasons) == 2, "one line when it fails, one when it recovers: not one per poll"
    assert ("disk is full" if full else "disk I/O error") in reasons[0]
    assert all(record.exc_info is None for record in caplog.records)


def test_health_without_a_running_writer_says_only_not_ok(queue: SQLiteJobQueue) -> None:
    app = create_app(queue=queue, sources={"fake": FakeWebhookSource()})

    async def probe() -> httpx.Response:  # no lifespan: the writer thread never started
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            return await client.get("/healthz")

    response = asyncio.run(probe())
    assert (response.status_code, response.json()) == (503, {"ok": False})


def test_webhooks_still_get_their_answer_with_a_token_configured(queue: SQLiteJobQueue) -> None:
    with serve(queue, AdminAccess(token=Secret(TOKEN))) as url:
        response = httpx.post(f"{url}/webhooks/fake", content=body(("e2", "p2")), headers=AUTH, timeout=10)
    assert response.status_code == 200, "the operator token is not the webhook secret: no change there"


class CountingQueue:
    def __init__(self) -> None:
        self.probes = 0
        self.fail = False

    def check_writable(self) -> None:
        self.probes += 1
        if self.fail:
            raise QueueError("disk I/O error")


def test_probe_results_are_reused_for_max_age() -> None:
    clock = [100.0]
    counting = CountingQueue()
    probe = StorageProbe(counting, max_age=1.0, clock=lambda: clock[0])  # type: ignore[arg-type]

    async def scenario() -> list[bool]:
        answers = list(await asyncio.gather(*(probe.ok() for _ in range(20))))
        counting.fail = True
        answers.append(await probe.ok())  # still within max_age: the last answer
        clock[0] += 1.0
        answers.append(await probe.ok())
        return answers

    answers = asyncio.run(scenario())
    assert answers == [True] * 21 + [False]
    assert counting.probes == 2, "twenty callers at once share one probe"


def _host_statuses(allowed: list[str], hosts: list[bytes]) -> list[int]:
    """The status each request (by its Host header) gets from HostCheck, in order, one app."""
    from fieldline.service.admin_auth import HostCheck

    async def ok(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    check = HostCheck(ok, allowed_hosts=allowed)
    statuses: list[int] = []

    async def run() -> None:
        for host in hosts:
            scope = {
                "type": "http",
                "method": "GET",
                "path": "/",
                "headers": [(b"host", host)],
                "query_string": b"",
            }

            async def receive() -> dict[str, Any]:
                return {"type": "http.request", "body": b""}

            async def send(message: MutableMapping[str, Any]) -> None:
                if message["type"] == "http.response.start":
                    statuses.append(message["status"])

            await check(scope, receive, send)

    asyncio.run(run())
    return statuses


def test_a_host_let_through_before_does_not_open_the_door_to_others() -> None:
    hosts = [b"127.0.0.1:8000", b"127.0.0.1:8000", b"evil.example:8000", b"127.0.0.1:8000", b"EVIL.example"]
    assert _host_statuses(default_allowed_hosts("127.0.0.1"), hosts) == [200, 200, 400, 200, 400]


def test_remembered_hosts_are_bounded_and_others_still_checked() -> None:
    names = [f"n{i}.example.com".encode() for i in range(100)]
    statuses = _host_statuses(["*.example.com"], [*names, *names, b"example.org", b"x.example.com.evil"])
    assert statuses == [200] * 200 + [400, 400]
