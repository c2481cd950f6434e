"""The console over real HTTP: sign-in, CSRF, security headers, what each page shows and does."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from fieldline.config import Secret
from fieldline.console.data import ConsoleData
from fieldline.console.headers import SECURITY_HEADERS
from fieldline.console.standalone import console_app
from fieldline.queue.jobs import JobState
from fieldline.queue.run_store import RunLogEntry
from fieldline.queue.storage import Storage, open_storage
from fieldline.service.admin_auth import AdminAccess
from fieldline.testing.queue_suite import event
from fieldline.testing.server import serve_in_thread

TOKEN = "console-test-operator-token-0123456789"
HOSTILE = "<script>alert('x')</script>"


@dataclass
class Console:
    url: str
    storage: Storage

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, follow_redirects=False, timeout=10)


def _seed(storage: Storage) -> None:
    queue = storage.queue
    queue.enqueue([event("ok-1", "profile-a"), event("bad-1", "profile-b")], source="passfort")
    jobs = {job.event_id: job for job in queue.claim("w1", limit=10)}
    queue.complete([jobs["ok-1"]])
    queue.fail(jobs["bad-1"], f"Salesforce refused: {HOSTILE}", permanent=True)
    storage.runs.record(
        [
            RunLogEntry(
                entity_key="profile-a",
                action="create",
                source="passfort",
                record="account",
                key="profile-a",
                object="Account",
                target_id="001A",
                written={"Name": "Ada"},
            )
        ],
        source="passfort",
    )


@pytest.fixture
def storage(tmp_path: Path) -> Iterator[Storage]:
    opened = open_storage(f"sqlite:///{tmp_path / 'fieldline.db'}")
    _seed(opened)
    yield opened
    opened.close()


@pytest.fixture
def console(storage: Storage) -> Iterator[Console]:
    app = console_app(ConsoleData(storage=storage), AdminAccess(token=Secret(TOKEN)))
    with serve_in_thread(app) as url:
        yield Console(url, storage)


def sign_in(client: httpx.Client) -> None:
    answer = client.post("/ui/login", data={"token": TOKEN, "next": "/ui/"})
    assert answer.status_code == 303
    assert answer.headers["location"] == "/ui/"


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert match, "the page has a form with a CSRF token"
    return match.group(1)


def test_every_page_needs_sign_in(console: Console) -> None:
    with console.client() as client:
        for path in ("/ui/", "/ui/cards", "/ui/logs", "/ui/dead-letters"):
            answer = client.get(path)
            assert answer.status_code == 303, path
            assert answer.headers["location"].startswith("/ui/login?next=")
        answer = client.post("/ui/dead-letters/replay", data={"job": "2"})
        assert answer.status_code == 403
    assert console.storage.queue.status().dead_letters == 1, "nothing was requeued"


def test_a_wrong_token_is_refused_and_the_right_one_gives_a_strict_httponly_cookie(console: Console) -> None:
    with console.client() as client:
        wrong = client.post("/ui/login", data={"token": "not-it", "next": "/ui/"})
        assert wrong.status_code == 401
        assert "not the operator token" in wrong.text
        assert "set-cookie" not in wrong.headers
        answer = client.post("/ui/login", data={"token": TOKEN, "next": "https://evil.example/"})
        assert answer.status_code == 303
        assert answer.headers["location"] == "/ui/", "never redirected off the console"
        cookie = answer.headers["set-cookie"].lower()
        assert "httponly" in cookie
        assert "samesite=strict" in cookie
        assert "path=/ui" in cookie
        assert TOKEN.lower() not in cookie, "the cookie holds a session id, not the token"
        assert client.get("/ui/").status_code == 200


def test_pages_carry_the_security_headers(console: Console) -> None:
    with console.client() as client:
        for answer in (client.get("/ui/login"), client.get("/ui/")):
            for name, value in SECURITY_HEADERS.items():
                assert answer.headers[name] == value
        assert "script-src 'self'" in SECURITY_HEADERS["content-security-policy"]
        assert "frame-ancestors 'none'" in SECURITY_HEADERS["content-security-policy"]


def test_overview_shows_health_failures_and_counts_with_source_text_escaped(console: Console) -> None:
    with console.client() as client:
        sign_in(client)
        page = client.get("/ui/").text
    assert 'data-health="empty"' in page
    assert "Processed in the last hour</dt><dd>1</dd>" in page
    assert "Dead letters</dt><dd><a" in page
    assert HOSTILE not in page, "error text from the source is escaped"
    assert "&lt;script&gt;" in page
    assert '<script src="/ui/static/console.js" defer></script>' in page
    assert page.count("<script") == 1, "no inline script"


def test_logs_filter_by_source_outcome_and_key(console: Console) -> None:
    with console.client() as client:
        sign_in(client)
        everything = client.get("/ui/logs").text
        assert "001A" in everything
        assert "&#34;Name&#34;: &#34;Ada&#34;" in everything
        assert "001A" not in client.get("/ui/logs", params={"action": "update"}).text
        assert "001A" not in client.get("/ui/logs", params={"key": "profile-z"}).text
        assert "001A" in client.get("/ui/logs", params={"source": "passfort", "key": "profile-a"}).text


def test_replay_needs_the_csrf_token_and_a_same_site_origin(console: Console) -> None:
    queue = console.storage.queue
    [letter] = queue.dead_letters()
    with console.client() as client:
        sign_in(client)
        token = csrf_of(client.get("/ui/dead-letters").text)
        assert client.post("/ui/dead-letters/replay", data={"job": str(letter.job_id)}).status_code == 403
        forged = client.post(
            "/ui/dead-letters/replay",
            data={"job": str(letter.job_id), "csrf": token},
            headers={"origin": "https://evil.example"},
        )
        assert forged.status_code == 403
        assert queue.status().dead_letters == 1
        answer = client.post("/ui/dead-letters/replay", data={"job": str(letter.job_id), "csrf": token})
        assert answer.status_code == 303
        assert "Requeued+1" in answer.headers["location"]
    assert queue.state_of(letter.job_id) is JobState.TODO


def test_a_dry_run_without_a_spec_says_so_and_changes_nothing(console: Console) -> None:
    [letter] = console.storage.queue.dead_letters()
    with console.client() as client:
        sign_in(client)
        token = csrf_of(client.get("/ui/dead-letters").text)
        page = client.post("/ui/dead-letters/preview", data={"csrf": token, "job": str(letter.job_id)})
    assert page.status_code == 200
    assert "no spec for the source &#39;passfort&#39;" in page.text
    assert console.storage.queue.status().dead_letters == 1


def test_clear_failures_empties_the_recent_failures_only(console: Console) -> None:
    with console.client() as client:
        sign_in(client)
        token = csrf_of(client.get("/ui/").text)
        answer = client.post("/ui/failures/clear", data={"csrf": token, "source": "passfort"})
        assert answer.status_code == 303
        assert "No failures recorded." in client.get("/ui/").text
    assert console.storage.queue.status().dead_letters == 1


def test_sign_out_ends_the_session(console: Console) -> None:
    with console.client() as client:
        sign_in(client)
        token = csrf_of(client.get("/ui/").text)
        assert client.post("/ui/logout", data={"csrf": token}).status_code == 303
        assert client.get("/ui/").status_code == 303


def test_without_a_token_loopback_gets_in_without_signing_in(storage: Storage) -> None:
    app = console_app(ConsoleData(storage=storage), AdminAccess(token=None))
    with serve_in_thread(app) as url, httpx.Client(base_url=url) as client:
        page = client.get("/ui/")
        assert page.status_code == 200
        assert "httponly" in page.headers["set-cookie"].lower(), "a session for its forms' CSRF tokens"
        assert "Sign out" not in page.text
        assert client.post("/ui/failures/clear", data={"source": "passfort"}).status_code == 403


def test_without_a_token_other_addresses_are_refused(storage: Storage) -> None:
    app = console_app(
        ConsoleData(storage=storage), AdminAccess(token=None, allowed_hosts=["console.example"])
    )

    async def get() -> httpx.Response:
        transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://console.example") as client:
            return await client.get("/ui/")

    answer = asyncio.run(get())
    assert answer.status_code == 403
    assert "loopback clients only" in answer.text
