"""Helpers that fill the emulator with Accounts and build Salesforce sources against it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fieldline.adapters.salesforce.emulator.server import EmulatorHandle
from fieldline.adapters.salesforce.source import SalesforceSource
from tests.salesforce.conftest import emulator_settings


def seed_accounts(handle: EmulatorHandle, rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """Insert Accounts straight into the emulator's store (no API calls); their ids in order."""
    table = handle.store.table("Account")
    assert table is not None
    return [str(handle.store.insert(table, dict(row))["Id"]) for row in rows]


def make_source(handle: EmulatorHandle, **options: Any) -> SalesforceSource:
    """A source for ``options`` (``object`` defaults to Account) that never sleeps."""
    options.setdefault("object", "Account")
    return SalesforceSource(
        options, settings=emulator_settings(handle), sleep=lambda _: None, bulk_poll_seconds=0.01
    )
