"""Fixtures: an emulator on a free loopback port, an httpx client and a simple-salesforce client."""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
from simple_salesforce.api import Salesforce

from fieldline.adapters.salesforce.emulator import routes_collections, validation
from fieldline.adapters.salesforce.emulator.auth import generate_key_pair
from fieldline.adapters.salesforce.emulator.server import EmulatorHandle, running_emulator
from tests.conftest import REPO_ROOT

ORG_FILE = REPO_ROOT / "mappings" / "passfort-salesforce.org.yaml"
API = "/services/data/v59.0"


@cache
def key_pair() -> tuple[str, str]:
    """One RSA key pair for the whole run (generating one per emulator is slow)."""
    return generate_key_pair()


class LoopbackSession(requests.Session):
    """simple-salesforce hard-codes https://; send its calls to the plain-HTTP emulator instead."""

    def __init__(self, base_url: str) -> None:
        super().__init__()
        self.base_url = base_url
        self.https_url = "https://" + base_url.split("://", 1)[1]

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        text = url.decode() if isinstance(url, bytes) else url
        for host in ("https://login.salesforce.com", "https://test.salesforce.com", self.https_url):
            if text.startswith(host):
                text = self.base_url + text[len(host) :]
        return super().request(method, text, *args, **kwargs)


def start(org_file: Path | None = ORG_FILE, **settings: Any) -> Any:
    """``running_emulator`` with the shared test key pair unless told otherwise."""
    settings.setdefault("jwt_public_key_pem", key_pair()[1])
    return running_emulator(org_file, **settings)


@pytest.fixture
def emulator() -> Iterator[EmulatorHandle]:
    with start() as handle:
        yield handle


@pytest.fixture
def client(emulator: EmulatorHandle) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {emulator.token}"}
    with httpx.Client(base_url=emulator.url + API, headers=headers, timeout=30) as http:
        yield http


@pytest.fixture
def sf(emulator: EmulatorHandle) -> Iterator[Any]:
    session = LoopbackSession(emulator.url)
    try:
        yield connect(emulator, session)
    finally:
        session.close()


def error_code(exc: Exception) -> str:
    """The first ``errorCode`` of a simple-salesforce error (its ``content`` is the parsed JSON body)."""
    content: Any = getattr(exc, "content", None)
    return str(content[0]["errorCode"])


def connect(handle: EmulatorHandle, session: requests.Session) -> Any:
    """simple-salesforce on the emulator in session-id mode (typed ``Any``: its stubs are partial)."""
    return Salesforce(instance_url=handle.url, session_id=handle.token, session=session, version="59.0")


def records(*bodies: dict[str, Any], type_name: str = "Account") -> list[dict[str, Any]]:
    """Collection records with ``attributes.type`` set."""
    return [{"attributes": {"type": type_name}, **body} for body in bodies]


def fail_validation_of(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make collections' record validation raise an unexpected error for the record called ``name``."""
    real = validation.prepare

    def prepare(store: Any, table: Any, body: Any, **kwargs: Any) -> Any:
        if body.get("Name") == name:
            raise RuntimeError("boom")
        return real(store, table, body, **kwargs)

    monkeypatch.setattr(routes_collections, "prepare", prepare)
