"""A served lookup service in front of the Salesforce emulator, configured as a user would."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from fieldline.adapters.salesforce.emulator.server import EmulatorHandle, running_emulator
from fieldline.lookups.auth import load_caller_auth
from fieldline.lookups.directory import LookupDirectory, build_directory
from fieldline.plugins.manager import get_plugin_manager
from fieldline.queue.storage import open_storage
from fieldline.service.app import create_app
from fieldline.spec.loader import load_spec_text
from fieldline.testing.server import serve_in_thread
from tests.conftest import use_emulator_login
from tests.salesforce.conftest import ORG_FILE

API_KEY = "k" * 32
OTHER_KEY = "o" * 32

SPEC = """
fieldline: 1
name: crm-view
source: {adapter: files, options: {path: none.jsonl}}
target: {adapter: files, options: {path: none.json}}
records:
  - name: unused
    object: Account
    fields: {Name: name}
lookups:
  account:
    object: Account
    index: AccountNumber
    fields:
      name: Name
      industry: {value: Industry, map: {Banking: finance}, unmapped: keep}
      employees: {value: NumberOfEmployees, default: 0}
      crm: {const: salesforce}
  account_all:
    object: Account
    index: AccountNumber
    on_many: first
    fields: all
  by_domain:
    object: Account
    index: {field: Website, normalize: root_domain}
    on_many: newest
    fields: {name: Name, site: Website}
  cached:
    object: Account
    index: AccountNumber
    cache_ttl: 30
    fields: {name: Name}
"""


def salesforce_env(monkeypatch: pytest.MonkeyPatch, emulator: EmulatorHandle) -> None:
    use_emulator_login(monkeypatch, emulator)
    monkeypatch.setenv("FIELDLINE_LOOKUP_API_KEYS", f"{API_KEY},{OTHER_KEY}")


class Clock:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Service:
    url: str
    emulator: EmulatorHandle
    directory: LookupDirectory
    clock: Clock
    db: Path

    def get(self, path: str, *, key: str | None = API_KEY) -> httpx.Response:
        headers = {"Authorization": f"Bearer {key}"} if key is not None else {}
        return httpx.get(f"{self.url}{path}", headers=headers, timeout=30)


@pytest.fixture
def service(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Service]:
    """``serve``'s app with the spec's lookups (no webhook source), over real HTTP."""
    with running_emulator(ORG_FILE) as emulator:
        salesforce_env(monkeypatch, emulator)
        spec = load_spec_text(SPEC, file=str(tmp_path / "crm-view.yaml"))
        clock = Clock()
        directory = build_directory([spec], get_plugin_manager(load_entrypoints=False), clock=clock)
        with open_storage(tmp_path / "queue.db") as storage:
            app = create_app(queue=storage.queue, sources={}, lookups=(directory, load_caller_auth()))
            try:
                with serve_in_thread(app) as url:
                    yield Service(url, emulator, directory, clock, tmp_path / "queue.db")
            finally:
                directory.close()
