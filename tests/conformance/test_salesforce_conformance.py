"""The target conformance suite against the Salesforce adapter, talking to the emulator."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fieldline.adapters.salesforce.emulator.server import EmulatorHandle, running_emulator
from fieldline.adapters.salesforce.target import SalesforceTarget
from fieldline.testing.target_suite import get_target_test_class
from tests.salesforce.conftest import ORG_FILE, emulator_settings


@pytest.fixture(scope="module")
def conformance_emulator() -> Iterator[EmulatorHandle]:
    with running_emulator(ORG_FILE) as handle:
        yield handle


def _make_target(request: pytest.FixtureRequest) -> SalesforceTarget:
    handle: EmulatorHandle = request.getfixturevalue("conformance_emulator")
    return SalesforceTarget({}, settings=emulator_settings(handle))


TestSalesforceApplicationConformance = get_target_test_class(
    make_target=_make_target,
    object_name="PassFort_Application__c",
    external_id_field="Application_ID__c",
    text_field="Flag__c",
    class_name="TestSalesforceApplicationConformance",
)

TestSalesforceAccountConformance = get_target_test_class(
    make_target=_make_target,
    object_name="Account",
    external_id_field="PassFort_Profile_Id__c",
    text_field="Description",
    number_field="NumberOfEmployees",
    required_fields={"Name": "Conformance"},
    invalid_fields={"Industry": "Not An Industry", "Name": "x" * 300},
    class_name="TestSalesforceAccountConformance",
)
