"""Fixtures that run the Salesforce emulator on loopback and point the adapter at it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fieldline.adapters.salesforce.emulator.server import EmulatorHandle, running_emulator
from fieldline.adapters.salesforce.settings import AuthMethod, SalesforceSettings
from fieldline.adapters.salesforce.target import SalesforceTarget
from fieldline.config import Secret
from tests.conftest import REPO_ROOT

ORG_FILE = REPO_ROOT / "mappings" / "passfort-salesforce.org.yaml"


def emulator_settings(
    handle: EmulatorHandle, method: AuthMethod = AuthMethod.PASSWORD, **extra: Any
) -> SalesforceSettings:
    """Settings that log in to the emulator with one of its built-in flows."""
    common: dict[str, Any] = {"emulator_url": handle.url, "auth": method}
    if method is AuthMethod.PASSWORD:
        common.update(
            username=handle.username,
            password=Secret(handle.password),
            security_token=Secret(handle.security_token),
            client_id=handle.client_id,
            client_secret=Secret(handle.client_secret),
        )
    elif method is AuthMethod.REFRESH_TOKEN:
        common.update(
            client_id=handle.client_id,
            client_secret=Secret(handle.client_secret),
            refresh_token=Secret(handle.refresh_token),
        )
    elif method is AuthMethod.JWT:
        common.update(
            username=handle.username,
            consumer_key=handle.consumer_key,
            private_key=Secret(handle.jwt_private_key_pem or ""),
        )
    else:
        common.update(instance_url=handle.url, access_token=Secret(handle.token))
    common.update(extra)
    return SalesforceSettings(**common)


class Sleeps:
    """A sleep function that records instead of waiting."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.fixture(scope="module")
def shared_emulator() -> Iterator[EmulatorHandle]:
    """One emulator for a test module whose tests do not inject faults."""
    with running_emulator(ORG_FILE) as handle:
        yield handle


@pytest.fixture
def emulator() -> Iterator[EmulatorHandle]:
    """A fresh emulator per test (for fault injection and exact call counts)."""
    with running_emulator(ORG_FILE, seed=7) as handle:
        yield handle


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def make_target(sleeps: Sleeps) -> Iterator[Any]:
    """``make_target(handle, **options)`` -> a SalesforceTarget closed after the test."""
    made: list[SalesforceTarget] = []

    def make(
        handle: EmulatorHandle, method: AuthMethod = AuthMethod.PASSWORD, **options: Any
    ) -> SalesforceTarget:
        target = SalesforceTarget(options, settings=emulator_settings(handle, method), sleep=sleeps)
        made.append(target)
        return target

    yield make
    for target in made:
        target.close()


def key_file(tmp_path: Path, pem: str) -> Path:
    path = tmp_path / "server.key"
    path.write_text(pem)
    return path
