"""The source conformance suite against the Salesforce source, reading Accounts from the emulator."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fieldline.adapters.salesforce.emulator.server import EmulatorHandle, running_emulator
from fieldline.adapters.salesforce.settings import SalesforceSettings
from fieldline.adapters.salesforce.source import SalesforceSource
from fieldline.testing import get_source_test_class
from tests.salesforce.conftest import ORG_FILE
from tests.salesforce.source_fixtures import make_source, seed_accounts


@pytest.fixture(scope="module")
def source_emulator() -> Iterator[EmulatorHandle]:
    with running_emulator(ORG_FILE) as handle:
        seed_accounts(handle, [{"Name": f"Conformance {i}", "AccountNumber": f"C-{i}"} for i in range(12)])
        yield handle


def _make_source(request: pytest.FixtureRequest) -> SalesforceSource:
    handle: EmulatorHandle = request.getfixturevalue("source_emulator")
    return make_source(handle, where="Name LIKE 'Conformance%'")


TestSalesforceSourceConformance = get_source_test_class(
    make_source=_make_source,
    make_unready_source=lambda: SalesforceSource({"object": "Account"}, settings=SalesforceSettings()),
    unknown_key="001000000000000AAA",
    class_name="TestSalesforceSourceConformance",
)


TestSalesforceSourceByAccountNumber = get_source_test_class(
    make_source=lambda request: make_source(
        request.getfixturevalue("source_emulator"), key="AccountNumber", where="AccountNumber != null"
    ),
    class_name="TestSalesforceSourceByAccountNumber",
)
