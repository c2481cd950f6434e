"""Settings, faults and counters of one running emulator.

:class:`EmulatorSettings` is fixed at start; :class:`Faults` can change while it runs (the
``/_emulator/faults`` endpoint, :meth:`EmulatorHandle.set_faults`, or the CLI flags at start).
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field, fields
from typing import Any

from fieldline.errors import ConfigError

__all__ = ["API_VERSIONS", "EmulatorSettings", "Faults", "Stats"]

API_VERSIONS = tuple(f"{v}.0" for v in range(31, 63))
LATEST_VERSION = API_VERSIONS[-1]
DEFAULT_USER_ID = "0058d00000EMUSRAA5"


@dataclass(frozen=True, slots=True)
class EmulatorSettings:
    """How the emulator behaves: built-in credentials, limits, page sizes and starting faults.

    Credentials are test values for a local emulator, not secrets. ``jwt_public_key_pem`` (a PEM
    public key or certificate) replaces the RSA key pair the emulator otherwise generates.
    """

    username: str = "integration@fieldline.example"
    password: str = "emulator-password"
    security_token: str = "EMULATORTOKEN"
    consumer_key: str = "3MVG9fieldline.emulator.consumer.key"
    client_secret: str = "emulator-client-secret"
    refresh_token: str | None = None  # generated at start when None
    jwt_public_key_pem: str | None = None
    org_id: str = "00D8d00000FLDLNEA5"  # valid 18-character ids: the seeded Organization and User
    user_id: str = DEFAULT_USER_ID
    daily_limit: int = 1_000_000
    query_page_size: int = 2000
    session_seconds: float | None = None  # access tokens live forever unless set
    refresh_token_rotation: bool = False
    bulk_chunk_size: int = 10_000
    bulk_delay_ms: int = 0  # pause per chunk, so tests can watch a job InProgress
    max_uri_length: int = 16_384  # longer request targets answer 414, as Salesforce's front end does
    write_error_rate: float = 0.0
    lock_error_rate: float = 0.0
    unavailable_next: int = 0
    retry_after: int = 1
    latency_ms: int = 0
    seed: int | None = None

    @classmethod
    def from_kwargs(cls, **values: Any) -> EmulatorSettings:
        """Settings from keyword arguments; unknown names are a :class:`ConfigError`."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(
                f"unknown emulator setting(s): {', '.join(unknown)}",
                hint=f"known settings: {', '.join(sorted(known))}",
            )
        return cls(**values)


FAULT_NAMES = (
    "write_error_rate",
    "lock_error_rate",
    "unavailable_next",
    "retry_after",
    "expire_sessions",
    "latency_ms",
    "daily_limit",
    "seed",
)


@dataclass(slots=True)
class Faults:
    """Faults in force now. Rates are probabilities per write (per record in batches)."""

    write_error_rate: float = 0.0
    lock_error_rate: float = 0.0
    unavailable_next: int = 0
    retry_after: int = 1
    latency_ms: int = 0
    daily_limit: int = 1_000_000
    rng: random.Random = field(default_factory=random.Random)

    def update(self, values: dict[str, Any]) -> list[str]:
        """Apply ``values`` (names from :data:`FAULT_NAMES`); returns the names applied.

        ``expire_sessions`` is an action, not a setting: the caller handles it.
        """
        unknown = sorted(set(values) - set(FAULT_NAMES))
        if unknown:
            raise ConfigError(
                f"unknown fault(s): {', '.join(unknown)}", hint=f"known faults: {', '.join(FAULT_NAMES)}"
            )
        for name in ("write_error_rate", "lock_error_rate"):
            if name in values:
                rate = float(values[name])
                if not 0.0 <= rate <= 1.0:
                    raise ConfigError(f"{name} must be between 0 and 1, got {rate}")
                setattr(self, name, rate)
        for name in ("unavailable_next", "retry_after", "latency_ms", "daily_limit"):
            if name in values:
                number = int(values[name])
                if number < 0:
                    raise ConfigError(f"{name} must not be negative, got {number}")
                setattr(self, name, number)
        if values.get("seed") is not None:
            self.rng.seed(int(values["seed"]))
        return sorted(values)

    def as_dict(self) -> dict[str, Any]:
        return {
            "write_error_rate": self.write_error_rate,
            "lock_error_rate": self.lock_error_rate,
            "unavailable_next": self.unavailable_next,
            "retry_after": self.retry_after,
            "latency_ms": self.latency_ms,
            "daily_limit": self.daily_limit,
        }


@dataclass(slots=True)
class Stats:
    """Request counters: ``total`` requests, ``api_usage`` (counted API calls), per-kind counts."""

    total: int = 0
    api_usage: int = 0
    by_kind: Counter[str] = field(default_factory=Counter)

    def reset(self) -> None:
        self.total = 0
        self.api_usage = 0
        self.by_kind.clear()
