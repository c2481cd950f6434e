"""The whole pipeline over real HTTP, for end-to-end tests and the service benchmark.

PassFort emulator --webhook--> fieldline service (queue) --> workers --> PassFort API (fetch)
--> runner --> Salesforce emulator. Adapters are configured the way a user would: environment
variables (``FIELDLINE_PASSFORT_*``, ``FIELDLINE_SALESFORCE_*``) and the shipped spec.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fieldline.adapters.passfort.emulator.handle import SEED_FILE, PassFortEmulator, running_passfort_emulator
from fieldline.adapters.salesforce.emulator.server import EmulatorHandle, running_emulator
from fieldline.plugins.manager import get_plugin_manager
from fieldline.queue import JobState
from fieldline.service.context import ServiceContext, open_context
from fieldline.service.worker import WorkerSettings
from fieldline.spec.loader import load_spec
from fieldline.testing.server import serve_in_thread
from tests.waiting import PATIENCE, wait_until

REPO_ROOT = Path(__file__).resolve().parents[2]
SPEC_FILE = REPO_ROOT / "mappings" / "passfort-salesforce.yaml"
ORG_FILE = REPO_ROOT / "mappings" / "passfort-salesforce.org.yaml"
SECRET = "e2e-webhook-secret"
API_KEY = "e2e-api-key"


@contextmanager
def environment(values: Mapping[str, str]) -> Iterator[None]:
    """Set environment variables for the block, then restore them."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def adapter_environment(pf: PassFortEmulator, sf: EmulatorHandle) -> dict[str, str]:
    """What a user would export to point fieldline at the two emulators."""
    return {
        "FIELDLINE_PASSFORT_BASE_URL": pf.api_url,
        "FIELDLINE_PASSFORT_API_KEY": API_KEY,
        "FIELDLINE_PASSFORT_WEBHOOK_SECRET": SECRET,
        "FIELDLINE_PASSFORT_BACKOFF_BASE": "0.01",
        "FIELDLINE_PASSFORT_BACKOFF_CAP": "0.05",
        "FIELDLINE_SALESFORCE_EMULATOR_URL": sf.url,
        "FIELDLINE_SALESFORCE_AUTH": "password",
        "FIELDLINE_SALESFORCE_USERNAME": sf.username,
        "FIELDLINE_SALESFORCE_PASSWORD": sf.password,
        "FIELDLINE_SALESFORCE_SECURITY_TOKEN": sf.security_token,
        "FIELDLINE_SALESFORCE_CLIENT_ID": sf.client_id,
        "FIELDLINE_SALESFORCE_CLIENT_SECRET": sf.client_secret,
    }


@dataclass
class Stack:
    pf: PassFortEmulator
    sf: EmulatorHandle
    context: ServiceContext
    url: str  # the fieldline service
    db: Path
    env: dict[str, str]

    @property
    def webhook_url(self) -> str:
        return f"{self.url}/webhooks/passfort"

    def wait_idle(self, timeout: float = PATIENCE) -> None:
        """Every emitted webhook delivered and every queued job settled, twice over: a job that
        writes back to PassFort makes it emit one more webhook (the echo, which writes nothing)."""
        for _ in range(2):
            self.pf.wait_delivered(timeout=timeout)
            self.wait_idle_queue(timeout)

    def wait_idle_queue(self, timeout: float = PATIENCE) -> None:
        """Every queued job settled (deliveries not awaited)."""
        wait_until(lambda: not self.context.queue.status().waiting, timeout=timeout, what="an idle queue")

    def records(self, object_name: str) -> list[dict[str, Any]]:
        return self.sf.records(object_name)

    def applications(self) -> dict[str, dict[str, Any]]:
        """Salesforce application records by PassFort application id."""
        return {record["Application_ID__c"]: record for record in self.records("PassFort_Application__c")}

    def counts(self) -> dict[JobState, int]:
        return dict(self.context.queue.status().counts)


@dataclass
class Emulators:
    pf: PassFortEmulator
    sf: EmulatorHandle
    env: dict[str, str]


@contextmanager
def running_emulators(
    *, batch: bool = False, sf_settings: Mapping[str, Any] | None = None
) -> Iterator[Emulators]:
    """Both emulators, and the environment pointing fieldline at them (set for the block)."""
    with ExitStack() as stack:
        sf = stack.enter_context(running_emulator(ORG_FILE, **(sf_settings or {})))
        pf = stack.enter_context(
            running_passfort_emulator(seed_file=SEED_FILE, secret=SECRET, api_key=API_KEY, batch=batch)
        )
        env = adapter_environment(pf, sf)
        stack.enter_context(environment(env))
        yield Emulators(pf=pf, sf=sf, env=env)


@contextmanager
def running_stack(
    directory: Path,
    *,
    workers: int = 2,
    batch: bool = False,
    worker_settings: WorkerSettings | None = None,
    sf_settings: Mapping[str, Any] | None = None,
    max_attempts: int = 5,
) -> Iterator[Stack]:
    """Both emulators, the service with ``workers`` in-process workers, wired together."""
    db = directory / "fieldline.db"
    with ExitStack() as stack:
        emulators = stack.enter_context(running_emulators(batch=batch, sf_settings=sf_settings))
        manager = get_plugin_manager()
        spec = load_spec(SPEC_FILE, plugin_manager=manager)
        context = open_context(
            spec,
            f"sqlite:///{db}?max_attempts={max_attempts}&backoff_base=0.05&backoff_max=0.5",
            plugin_manager=manager,
            worker_settings=worker_settings or WorkerSettings(poll_interval=0.05, budget_pause=0.5),
        )
        stack.callback(context.close)
        app = context.create_app(workers=workers)
        url = stack.enter_context(serve_in_thread(app))
        emulators.pf.configure_delivery(deliver_to=f"{url}/webhooks/passfort")
        yield Stack(pf=emulators.pf, sf=emulators.sf, context=context, url=url, db=db, env=emulators.env)
