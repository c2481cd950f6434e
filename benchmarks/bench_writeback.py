"""Write-back figures: PassFort calls per profile to keep each Account's id in ``customer_ref``.

A first ``sync`` of 1,000 fresh profiles (the shipped spec, both emulators over loopback) should
cost at most 2 write-back calls per profile (one read, one conditional write); a re-sync 0, since
every profile already holds its Account's id.
"""

from __future__ import annotations

import threading
from pathlib import Path

import httpx

from benchmarks.bench_passfort import API_KEY, _profiles
from fieldline.adapters.passfort.emulator import running_passfort_emulator
from fieldline.adapters.passfort.settings import PassFortSettings
from fieldline.adapters.passfort.source import PassFortSource
from fieldline.adapters.salesforce.emulator.server import running_emulator
from fieldline.adapters.salesforce.settings import AuthMethod, SalesforceSettings
from fieldline.adapters.salesforce.target import SalesforceTarget
from fieldline.config import Secret
from fieldline.plugins.manager import get_plugin_manager
from fieldline.spec.loader import load_spec
from fieldline.sync.runner import Runner

SPEC_FILE = Path("mappings/passfort-salesforce.yaml")
ORG_FILE = "mappings/passfort-salesforce.org.yaml"
PROFILES = 1000


class CountingTransport(httpx.HTTPTransport):
    """Counts the requests to collected data: the write-back's calls, and nothing else."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/collected_data"):
            with self._lock:
                self.calls += 1
        return super().handle_request(request)


def _write_back_calls() -> tuple[float, float]:
    manager = get_plugin_manager()
    spec = load_spec(SPEC_FILE, plugin_manager=manager)
    profiles = _profiles(PROFILES)
    transport = CountingTransport()
    with (
        running_passfort_emulator(profiles=profiles, api_key=API_KEY) as passfort,
        running_emulator(ORG_FILE) as salesforce,
    ):
        source = PassFortSource(
            PassFortSettings(api_key=Secret(API_KEY), base_url=passfort.api_url),
            profile_ids=[profile["id"] for profile in profiles],
            transport=transport,
        )
        target = SalesforceTarget(
            {},
            settings=SalesforceSettings(
                emulator_url=salesforce.url,
                auth=AuthMethod.TOKEN,
                instance_url=salesforce.url,
                access_token=Secret(salesforce.token),
            ),
        )
        try:
            runner = Runner(spec, target, source=source, plugin_manager=manager)
            runner.sync(source.read())
            first = transport.calls
            runner.sync(source.read())
            again = transport.calls - first
        finally:
            source.close()
            target.close()
    return first / PROFILES, again / PROFILES


def run() -> dict[str, float]:
    """Figures for ``make bench``."""
    first, again = _write_back_calls()
    return {"writeback_calls_per_profile": first, "writeback_calls_per_profile_resync": again}
