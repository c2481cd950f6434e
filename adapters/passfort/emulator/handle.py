"""``running_passfort_emulator``: the emulator on a free loopback port, with a Python handle.

::

    with running_passfort_emulator(seed_file=SEED_FILE, deliver_to=url, secret="s") as pf:
        pf.set_status(application_id, "APPROVED")   # emits PRODUCT_STATUS_CHANGED
        pf.wait_delivered(timeout=5)
        httpx.get(f"{pf.api_url}/profiles/{profile_id}", headers={"apikey": pf.api_key})

Every handle method goes through the emulator's HTTP control endpoints, so all state changes
happen on the emulator's own event loop.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from fieldline.adapters.passfort.emulator.app import ErrorStyle, Faults, create_app
from fieldline.adapters.passfort.emulator.delivery import DeliveryConfig, DeliveryStatus
from fieldline.adapters.passfort.emulator.store import ProfileStore, load_seed
from fieldline.errors import FieldlineError
from fieldline.testing.server import serve_in_thread

__all__ = ["SEED_FILE", "PassFortEmulator", "running_passfort_emulator"]

SEED_FILE = Path(__file__).resolve().parents[3] / "mappings" / "passfort-seed.json"
"""The shipped sample profiles (a checkout's ``mappings/passfort-seed.json``)."""


class EmulatorControlError(FieldlineError):
    """A control call to the emulator was refused (unknown application, bad settings)."""


class PassFortEmulator:
    """A handle on a running emulator."""

    def __init__(self, url: str, *, api_key: str, secret: str) -> None:
        self.url = url
        self.api_url = f"{url}/4.0"
        self.api_key = api_key
        self.secret = secret
        self._http = httpx.Client(base_url=url, timeout=10.0)

    def close(self) -> None:
        """Close the control connection."""
        self._http.close()

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        response = self._http.request(method, path, json=body)
        if response.status_code >= 400:
            raise EmulatorControlError(
                f"emulator {method} {path}: HTTP {response.status_code}: {response.text[:300]}"
            )
        return response.json()

    # --- source-side changes --------------------------------------------------------------

    def set_status(
        self, application_id: str, status: str, *, user: Mapping[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """Change an application's status; return the envelopes emitted (none if unchanged)."""
        body: dict[str, Any] = {"status": status, "user": None if user is None else dict(user)}
        result: list[dict[str, Any]] = self._call("POST", f"/_emulator/applications/{application_id}", body)[
            "events"
        ]
        return result

    def set_flag(self, application_id: str, flag: str | None) -> list[dict[str, Any]]:
        """Change an application's flag (badge); return the envelopes emitted."""
        result: list[dict[str, Any]] = self._call(
            "POST", f"/_emulator/applications/{application_id}", {"flag": flag}
        )["events"]
        return result

    def add_profile(self, profile: Mapping[str, Any]) -> dict[str, Any]:
        """Add a profile (ids and standard keys filled in); return it as stored."""
        result: dict[str, Any] = self._call("POST", "/_emulator/profiles", dict(profile))
        return result

    def emit(self, event: str, profile_id: str, data: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Emit any event for a profile (e.g. an event type the spec does not enable)."""
        body = {"event": event, "profile_id": profile_id, "data": dict(data or {})}
        result: dict[str, Any] = self._call("POST", "/_emulator/events", body)
        return result

    def profile(self, profile_id: str) -> dict[str, Any] | None:
        """The stored profile (through the API, with the right key), or ``None``."""
        response = self._http.get(f"/4.0/profiles/{profile_id}", headers={"apikey": self.api_key})
        if response.status_code == 404:
            return None
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def profile_ids(self) -> list[str]:
        """Every stored profile id, in insertion order."""
        result: list[str] = self._call("GET", "/_emulator/profiles")["profile_ids"]
        return result

    # --- faults, delivery, counters -------------------------------------------------------

    def set_faults(self, **faults: Any) -> dict[str, Any]:
        """Inject API faults: ``error_rate``, ``error_status``, ``error_code`` (a PassFort code such
        as 104), ``retry_after``, ``latency_ms``, ``fail_next``, ``seed``, ``reset=True``."""
        result: dict[str, Any] = self._call("POST", "/_emulator/faults", faults)
        return result

    def configure_delivery(self, **settings: Any) -> DeliveryStatus:
        """Change delivery (``deliver_to``, ``batch``, ``batch_interval``, ``paused``, ...)."""
        result: DeliveryStatus = self._call("POST", "/_emulator/delivery", settings)
        return result

    def deliveries(self) -> DeliveryStatus:
        """The outgoing webhook queue: pending, delivered, requests, last error, ..."""
        result: DeliveryStatus = self._call("GET", "/_emulator/deliveries")
        return result

    def stats(self) -> dict[str, int]:
        """API request counters."""
        result: dict[str, int] = self._call("GET", "/_emulator/stats")
        return result

    def wait_delivered(self, timeout: float = 10.0, *, poll: float = 0.01) -> DeliveryStatus:
        """Block until every emitted webhook got its 200; raise :class:`TimeoutError` if not."""
        deadline = time.monotonic() + timeout
        while True:
            status = self.deliveries()
            if status["pending"] == 0 and status["in_flight"] == 0:
                return status
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"{status['pending']} webhooks still pending after {timeout}s "
                    f"(last error: {status['last_error']})"
                )
            time.sleep(poll)


@contextmanager
def running_passfort_emulator(
    seed_file: str | Path | None = None,
    deliver_to: str | None = None,
    secret: str = "emulator-webhook-secret",
    api_key: str = "emulator-api-key",
    batch: bool = False,
    *,
    profiles: list[dict[str, Any]] | None = None,
    batch_interval: float = 0.05,
    batch_size: int = 100,
    backoff_base: float = 0.02,
    backoff_cap: float = 0.5,
    delivery_timeout: float = 5.0,
    faults: Faults | None = None,
    seed: int | None = None,
    error_style: ErrorStyle | str = ErrorStyle.HTTP,
) -> Iterator[PassFortEmulator]:
    """Serve the emulator on 127.0.0.1 (free port) until the block ends.

    ``seed_file`` (e.g. :data:`SEED_FILE`) and/or ``profiles`` fill the store. Delivery
    defaults suit tests (fast batches, short backoff); the CLI uses PassFort-like timings.
    ``error_style`` ``"200"`` answers coded PassFort errors with HTTP 200 (see :class:`ErrorStyle`).
    """
    seeded = load_seed(seed_file) if seed_file is not None else []
    store = ProfileStore([*seeded, *(profiles or [])])
    config = DeliveryConfig(
        deliver_to=deliver_to,
        secret=secret,
        batch=batch,
        batch_size=batch_size,
        batch_interval=batch_interval,
        backoff_base=backoff_base,
        backoff_cap=backoff_cap,
        timeout=delivery_timeout,
    )
    app = create_app(
        store=store,
        delivery=config,
        api_key=api_key,
        faults=faults,
        seed=seed,
        error_style=ErrorStyle(error_style),
    )
    with serve_in_thread(app) as url:
        handle = PassFortEmulator(url, api_key=api_key, secret=secret)
        try:
            yield handle
        finally:
            handle.close()
