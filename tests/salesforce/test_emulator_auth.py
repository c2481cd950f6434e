"""Every login flow against the emulator over loopback, and what happens when one fails."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from fieldline.adapters.salesforce.emulator.server import EmulatorHandle
from fieldline.adapters.salesforce.settings import AuthMethod
from fieldline.adapters.salesforce.target import SalesforceTarget
from fieldline.config import Secret
from fieldline.errors import FatalAdapterError
from tests.salesforce.conftest import emulator_settings, key_file


@pytest.mark.parametrize("method", list(AuthMethod), ids=[method.value for method in AuthMethod])
def test_each_flow_reaches_the_api(shared_emulator: EmulatorHandle, method: AuthMethod) -> None:
    target = SalesforceTarget({}, settings=emulator_settings(shared_emulator, method))
    try:
        description = target.describe("Account")
        assert description.field("PassFort_Profile_Id__c") is not None
        assert target.client.logins == (0 if method is AuthMethod.TOKEN else 1)
    finally:
        target.close()


def test_jwt_with_a_private_key_file(shared_emulator: EmulatorHandle, tmp_path: Path) -> None:
    settings = emulator_settings(shared_emulator, AuthMethod.JWT)
    path = key_file(tmp_path, shared_emulator.jwt_private_key_pem or "")
    settings = replace(settings, private_key=None, private_key_file=str(path))
    target = SalesforceTarget({}, settings=settings)
    try:
        assert target.describe("Contact").name == "Contact"
    finally:
        target.close()


@pytest.mark.parametrize(
    ("method", "change"),
    [
        pytest.param(AuthMethod.PASSWORD, {"password": Secret("wrong-password")}, id="password"),
        pytest.param(AuthMethod.REFRESH_TOKEN, {"refresh_token": Secret("wrong-refresh")}, id="refresh"),
        pytest.param(AuthMethod.JWT, {"username": "nobody@example.com"}, id="jwt-unknown-user"),
    ],
)
def test_wrong_credentials_fail_clearly(
    shared_emulator: EmulatorHandle, method: AuthMethod, change: dict[str, Any]
) -> None:
    settings = replace(emulator_settings(shared_emulator, method), **change)
    target = SalesforceTarget({}, settings=settings)
    try:
        with pytest.raises(FatalAdapterError) as caught:
            target.describe("Account")
    finally:
        target.close()
    text = str(caught.value)
    assert "login" in text
    assert "invalid_grant" in text or "invalid_client" in text
    assert "wrong-password" not in text
    assert "wrong-refresh" not in text


def test_unknown_object_is_fatal_with_a_hint(shared_emulator: EmulatorHandle) -> None:
    target = SalesforceTarget({}, settings=emulator_settings(shared_emulator))
    try:
        with pytest.raises(FatalAdapterError, match="No_Such__c") as caught:
            target.describe("No_Such__c")
        assert caught.value.hint is not None
    finally:
        target.close()
