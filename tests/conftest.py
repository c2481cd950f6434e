"""Shared fixtures. Integration fixtures that start emulators live next to their tests."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import pluggy
import pytest
from hypothesis import settings

from fieldline.plugins.manager import get_plugin_manager

if TYPE_CHECKING:
    from fieldline.adapters.salesforce.emulator.server import EmulatorHandle

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DIR = REPO_ROOT.parent / "shared"

# Hypothesis budgets live here, not in the tests: ``dev`` for a quick local run, ``ci`` (chosen
# by ``CI=true``) for a few more examples while the whole ``make test`` stays under 5 minutes on
# 2 cores, ``thorough`` for an occasional hunt. Choose one explicitly
# with ``HYPOTHESIS_PROFILE``. No deadline anywhere: how long an example takes depends on the
# machine (2 shared cores in CI), not on the code, so a deadline would only make tests flaky.
settings.register_profile("dev", max_examples=100, deadline=None)
settings.register_profile("ci", max_examples=120, deadline=None, print_blob=True)
settings.register_profile("thorough", max_examples=2000, deadline=None)


def hypothesis_profile(environ: Mapping[str, str]) -> str:
    """``HYPOTHESIS_PROFILE`` if set, else ``ci`` under ``CI=true``, else ``dev``."""
    return environ.get("HYPOTHESIS_PROFILE") or ("ci" if environ.get("CI", "").lower() == "true" else "dev")


settings.load_profile(hypothesis_profile(os.environ))


@pytest.fixture
def plugin_manager() -> pluggy.PluginManager:
    """A fresh plugin manager with the built-ins only (independent of what is installed)."""
    return get_plugin_manager(load_entrypoints=False)


@pytest.fixture
def shared_dir() -> Path:
    """``../shared`` (reference facts and public test vectors); skipped with a reason when the
    checkout has no such sibling folder (a user's own clone). CI always has it."""
    if not SHARED_DIR.is_dir():
        pytest.skip(f"{SHARED_DIR} is absent: the public test vectors live there (CI has them)")
    return SHARED_DIR


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    """One PostgreSQL server for the whole run: ``FIELDLINE_TEST_PG_URL``, or a throwaway one
    started from the ``pgserver`` wheel's binaries (one ``initdb`` per run)."""
    from tests.postgres import ENV_URL, unavailable

    external = os.environ.get(ENV_URL)
    if external:
        yield external
        return
    from fieldline.testing.pg_server import PostgresServer, PostgresUnavailable

    server: PostgresServer | None = None
    try:
        server = PostgresServer()
        server.init()
        server.start()
    except PostgresUnavailable as exc:
        if server is not None:
            server.remove()
        unavailable(str(exc))
    assert server is not None
    try:
        yield server.url()
    finally:
        server.remove()


@pytest.fixture
def pg_url(pg_server_url: str) -> str:
    """A storage URL on a fresh schema of the test server, upgraded to the current version."""
    from tests.postgres import new_schema

    return new_schema(pg_server_url)


def use_emulator_login(monkeypatch: pytest.MonkeyPatch, emulator: EmulatorHandle) -> None:
    """Point the Salesforce adapter's settings (environment) at a running emulator's login."""
    for name, value in {
        "EMULATOR_URL": emulator.url,
        "AUTH": "password",
        "USERNAME": emulator.username,
        "PASSWORD": emulator.password,
        "SECURITY_TOKEN": emulator.security_token,
        "CLIENT_ID": emulator.client_id,
        "CLIENT_SECRET": emulator.client_secret,
    }.items():
        monkeypatch.setenv(f"FIELDLINE_SALESFORCE_{name}", value)


@pytest.fixture(autouse=True)
def _sync_runs_in_tmp_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """`fieldline sync` records every run (``--db``, ``fieldline.db`` in the current folder by
    default): in tests, in the test's own folder, never a shared file."""
    monkeypatch.setenv("FIELDLINE_DB", str(tmp_path / "fieldline-runs.db"))


@pytest.fixture(autouse=True)
def _caches_in_tmp_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Caches kept across runs (Salesforce describes) in the test's own folder: a test sees what
    its own runs kept, never another test's or the user's ``~/.cache``."""
    monkeypatch.setenv("FIELDLINE_CACHE_DIR", str(tmp_path / "cache"))
