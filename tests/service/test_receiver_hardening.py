"""The receiver under hostile input (issue 9): one request's bad data, slowness or disappearance
costs that request alone a 4xx and one log line; everyone else is served."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from fieldline.queue import EnqueueGroup, EnqueueResult, JobState
from fieldline.queue.run_store import REDACTED, redact
from fieldline.queue.sqlite_queue import SQLiteJobQueue
from fieldline.service.app import GroupCommitter, ServiceSettings, create_app
from fieldline.service.connections import ConnectionLimits, uvicorn_options
from fieldline.testing.server import serve_in_thread
from tests.service.fakes import SECRET, FakeWebhookSource, event
from tests.waiting import PATIENCE, wait_until

AUTH = {"authorization": f"Bearer {SECRET}"}

# The request line and an allowed Host: what every raw request here starts with.
HEAD = b"POST /webhooks/fake HTTP/1.1\r\nHost: localhost\r\n"


def raw_body(event_id: str, key: str = "p1", data: str = "{}") -> bytes:
    """A fake-source body written as JSON text, so ``\\ud800`` escapes reach the parser as such."""
    item = f'{{"id": "{event_id}", "event": "PRODUCT_STATUS_CHANGED", "key": "{key}", "data": {data}}}'
    return f"[{item}]".encode()


class Served:
    def __init__(self, url: str, queue: SQLiteJobQueue) -> None:
        self.url = url
        self.queue = queue
        self.port = int(url.rsplit(":", 1)[1])


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    queue = SQLiteJobQueue(tmp_path / "q.db")
    app = create_app(
        queue=queue,
        sources={"fake": FakeWebhookSource()},
        settings=ServiceSettings(max_body_bytes=100_000, body_timeout=0.5),
    )
    with serve_in_thread(app) as url:
        yield Served(url, queue)
    queue.close()


def tracebacks(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.exc_info or "Traceback" in record.getMessage()
    ]


# --- no request can fail another's commit ----------------------------------------------------


def test_a_failed_group_commit_fails_only_its_culprits(tmp_path: Path) -> None:
    queue = SQLiteJobQueue(tmp_path / "q.db")
    committer = GroupCommitter(queue)
    # Lone surrogates straight into the committer, as if a source adapter let them through.
    groups = [
        EnqueueGroup("fake", [event(f"bad\ud800{i}" if i % 3 == 0 else f"e{i}", f"p{i}")]) for i in range(60)
    ]

    async def scenario() -> list[EnqueueResult | BaseException]:
        pending = [asyncio.ensure_future(committer.submit(group)) for group in groups]
        await asyncio.sleep(0)  # every submit is waiting before the writer starts: one group
        committer.start()
        return list(await asyncio.gather(*pending, return_exceptions=True))

    results = asyncio.run(scenario())
    committer.stop()
    good = [result for index, result in enumerate(results) if index % 3]
    bad = [result for index, result in enumerate(results) if index % 3 == 0]
    assert len(good) == 40
    assert all(isinstance(result, EnqueueResult) and result.queued == 1 for result in good)
    assert all(isinstance(result, UnicodeEncodeError) for result in bad)
    assert queue.status().counts == {JobState.TODO: 40}
    queue.close()


def test_20_bad_requests_among_40_good_ones_cost_only_themselves(served: Served) -> None:
    statuses: dict[str, int] = {}
    lock = threading.Lock()

    def send(index: int) -> None:
        bad = index % 3 == 0
        content = raw_body(f"x\\ud800-{index}" if bad else f"e{index}", f"p{index}")
        response = httpx.post(f"{served.url}/webhooks/fake", content=content, headers=AUTH, timeout=PATIENCE)
        with lock:
            statuses[f"{'bad' if bad else 'good'}-{index}"] = response.status_code

    threads = [threading.Thread(target=send, args=(index,)) for index in range(60)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(PATIENCE)
    assert sorted(code for name, code in statuses.items() if name.startswith("good")) == [200] * 40
    assert sorted(code for name, code in statuses.items() if name.startswith("bad")) == [400] * 20
    assert served.queue.status().counts == {JobState.TODO: 40}


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(raw_body("x\\ud800"), id="id"),
        pytest.param(raw_body("e1", key="p\\udfff"), id="entity-key"),
        pytest.param(raw_body("e1", data='{"note": "\\ud83d"}'), id="payload"),
        pytest.param(raw_body("e1", data="[" * 600 + "]" * 600), id="nested-600"),
    ],
)
def test_unstorable_events_are_400_with_one_line_and_no_traceback(
    served: Served, caplog: pytest.LogCaptureFixture, content: bytes
) -> None:
    with caplog.at_level(logging.INFO):
        response = httpx.post(f"{served.url}/webhooks/fake", content=content, headers=AUTH, timeout=PATIENCE)
    assert response.status_code == 400
    assert "cannot be stored" in response.json()["error"]
    assert [record.levelname for record in caplog.records if "refused (400)" in record.getMessage()] == [
        "WARNING"
    ]
    assert tracebacks(caplog) == []
    assert served.queue.status().counts == {}


def test_redaction_does_not_recurse() -> None:
    deep: Any = {"token": "t", "x": 1}
    for _ in range(5000):
        deep = {"inner": [deep], "apikey": "k"}
    redacted = redact(deep)
    for _ in range(5000):
        assert redacted["apikey"] == REDACTED
        [redacted] = redacted["inner"]
    assert redacted == {"token": REDACTED, "x": 1}


def test_redaction_keeps_order_and_shapes() -> None:
    value = {"b": (1, {"password": "p"}), "a": [{"Secret_Key": 2}], "c": None}
    assert redact(value) == {"b": [1, {"password": REDACTED}], "a": [{"Secret_Key": REDACTED}], "c": None}
    assert list(redact(value)) == ["b", "a", "c"]


# --- slow and vanishing clients ----------------------------------------------------------------


def connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=PATIENCE)


def test_a_body_slower_than_the_timeout_is_408(served: Served, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO), connect(served.port) as client:
        head = HEAD + b"Authorization: Bearer " + SECRET.encode()
        client.sendall(head + b"\r\nContent-Length: 1000\r\n\r\n[{")
        answer = client.recv(4096)  # the receiver answers on its own once the body is overdue
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert [r.getMessage() for r in caplog.records if "(408)" in r.getMessage()] == [
        "webhook fake: the body took over 0.5 s to arrive (408)"
    ]
    assert served.queue.status().counts == {}


def test_a_client_gone_mid_body_is_one_line_and_no_traceback(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        with connect(served.port) as client:
            client.sendall(HEAD + b"Content-Length: 1000\r\n\r\n[{")
        wait_until(
            lambda: any("went away" in record.getMessage() for record in caplog.records),
            what="the receiver noticing the client left",
        )
        # A good request after it is served, and nothing about the first one was logged twice.
        response = httpx.post(f"{served.url}/webhooks/fake", content=raw_body("e1"), headers=AUTH)
    assert response.status_code == 200
    gone = [record for record in caplog.records if "went away" in record.getMessage()]
    assert [record.getMessage() for record in gone] == [
        "webhook fake: the client went away before sending the whole body"
    ]
    assert tracebacks(caplog) == []


def _post_until_200(port: int, within: float) -> int | None:
    """Send one good event as PassFort would (again after a refused connection or a 503) until
    it is acknowledged or ``within`` seconds pass; the last status (``None``: no answer)."""
    deadline = time.monotonic() + within
    status: int | None = None
    while status != 200 and time.monotonic() < deadline:
        try:
            status = httpx.post(
                f"http://127.0.0.1:{port}/webhooks/fake", content=raw_body("good"), headers=AUTH, timeout=2
            ).status_code
        except httpx.TransportError:
            status = None
            time.sleep(0.05)  # a refused or dropped connection: try again, as a sender does
    return status


def test_half_sent_connections_do_not_keep_a_good_sender_out(tmp_path: Path) -> None:
    # Without the limits (`limited_server --no-limits`) the good sender gets no answer at all.
    command = [sys.executable, "-m", "tests.service.limited_server", str(tmp_path / "q.db")]
    with subprocess.Popen(
        command, cwd=Path(__file__).parents[2], stdout=subprocess.PIPE, text=True
    ) as server:
        hogs: list[socket.socket] = []
        try:
            assert server.stdout is not None
            port = int(server.stdout.readline())
            for _ in range(150):  # far more than the server's 64 file descriptors
                hog = connect(port)
                hog.sendall(HEAD)  # the head never ends
                hogs.append(hog)
            assert _post_until_200(port, within=15.0) == 200
        finally:
            for hog in hogs:
                hog.close()
            server.terminate()


@pytest.fixture
def guarded(tmp_path: Path) -> Iterator[int]:
    """A receiver under uvicorn with the connection limits ``serve`` uses (short header timeout)."""
    import uvicorn

    queue = SQLiteJobQueue(tmp_path / "q.db")
    app = create_app(queue=queue, sources={"fake": FakeWebhookSource()})
    limits = ConnectionLimits(header_timeout=0.5, max_connections=10, max_header_bytes=8192)
    config = uvicorn.Config(app, port=0, lifespan="on", log_level="warning", **uvicorn_options(limits))
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: server.started, what="the guarded server starting")
    yield int(server.servers[0].sockets[0].getsockname()[1])
    server.should_exit = True
    thread.join(PATIENCE)
    queue.close()


def test_a_head_slower_than_the_timeout_is_closed(guarded: int) -> None:
    with connect(guarded) as client:
        client.sendall(HEAD)
        assert client.recv(4096) == b""  # closed by the server, without an answer


def test_a_kept_alive_connection_gets_the_same_deadline(guarded: int) -> None:
    with connect(guarded) as client:
        request = HEAD + b"Authorization: Bearer " + SECRET.encode()
        content = raw_body("e1")
        client.sendall(request + b"\r\nContent-Length: " + str(len(content)).encode() + b"\r\n\r\n" + content)
        assert client.recv(4096).startswith(b"HTTP/1.1 200 ")
        client.sendall(b"POST /webhooks/fake HTTP/1.1\r\n")  # a second request whose head never ends
        assert client.recv(4096) == b""


def test_an_oversized_head_is_431(guarded: int) -> None:
    with connect(guarded) as client:
        client.sendall(b"POST /webhooks/fake HTTP/1.1\r\nX-Filler: " + b"a" * 10_000)
        assert client.recv(4096).startswith(b"HTTP/1.1 431 ")


def test_a_large_body_is_not_taken_for_a_large_head(guarded: int) -> None:
    content = raw_body("e1", data=json.dumps({"note": "n" * 50_000}))
    response = httpx.post(f"http://127.0.0.1:{guarded}/webhooks/fake", content=content, headers=AUTH)
    assert response.status_code == 200
