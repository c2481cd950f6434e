"""OAuth 2.0 token endpoint (JWT bearer, refresh token, password, client credentials) and sessions."""

from __future__ import annotations

import base64
import time
from typing import Any

import httpx
import jwt
import pytest
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceAuthenticationFailed

from fieldline.adapters.salesforce.emulator.auth import generate_key_pair
from fieldline.adapters.salesforce.emulator.server import EmulatorHandle, running_emulator
from fieldline.testing.queue_suite import FakeClock
from tests.salesforce_emulator.conftest import API, ORG_FILE, LoopbackSession, key_pair

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def token(emulator: EmulatorHandle, **form: str) -> httpx.Response:
    return httpx.post(f"{emulator.url}/services/oauth2/token", data=form)


def assertion(emulator: EmulatorHandle, private_key: str, **claims: Any) -> str:
    payload = {
        "iss": emulator.consumer_key,
        "sub": emulator.username,
        "aud": "https://login.salesforce.com",
        "exp": int(time.time()) + 180,
        **claims,
    }
    return jwt.encode(payload, private_key, algorithm="RS256")


def works(emulator: EmulatorHandle, access_token: str) -> bool:
    response = httpx.get(f"{emulator.url}{API}/sobjects", headers={"Authorization": f"Bearer {access_token}"})
    return response.status_code == 200


def test_jwt_bearer_with_the_generated_key() -> None:
    with running_emulator(ORG_FILE) as emulator:
        assert emulator.jwt_private_key_pem is not None
        response = token(
            emulator, grant_type=JWT_GRANT, assertion=assertion(emulator, emulator.jwt_private_key_pem)
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["instance_url"] == emulator.url
        assert body["token_type"] == "Bearer"
        assert "refresh_token" not in body
        assert body["id"].startswith(f"{emulator.url}/id/00D")
        assert works(emulator, body["access_token"])
        own_audience = assertion(emulator, emulator.jwt_private_key_pem, aud=emulator.url)
        assert token(emulator, grant_type=JWT_GRANT, assertion=own_audience).status_code == 200
        assert emulator.stats()["by_kind"]["oauth"] == 2
        assert emulator.stats()["api_usage"] == 1  # token calls are not API calls


def test_jwt_bearer_through_simple_salesforce() -> None:
    with running_emulator(ORG_FILE) as emulator:
        session = LoopbackSession(emulator.url)
        try:
            sf = Salesforce(
                username=emulator.username,
                consumer_key=emulator.consumer_key,
                privatekey=emulator.jwt_private_key_pem,
                session=session,
            )
            assert sf.query("SELECT Id FROM Account")["totalSize"] == 0
        finally:
            session.close()


@pytest.mark.parametrize(
    ("claims", "error", "description"),
    [
        pytest.param({"iss": "other"}, "invalid_client_id", "client identifier invalid", id="issuer"),
        pytest.param(
            {"sub": "nobody@x"}, "invalid_grant", "user hasn't approved this consumer", id="subject"
        ),
        pytest.param({"aud": "https://evil.example"}, "invalid_grant", "audience is invalid", id="audience"),
        pytest.param(
            {"exp": int(time.time()) - 60}, "invalid_grant", "expired authorization code", id="expired"
        ),
    ],
)
def test_jwt_bearer_refusals(
    emulator: EmulatorHandle, claims: dict[str, Any], error: str, description: str
) -> None:
    response = token(emulator, grant_type=JWT_GRANT, assertion=assertion(emulator, key_pair()[0], **claims))
    assert response.status_code == 400
    assert response.json() == {"error": error, "error_description": description}


def test_jwt_signed_by_another_key_is_refused(emulator: EmulatorHandle) -> None:
    other_private, _ = generate_key_pair()
    response = token(emulator, grant_type=JWT_GRANT, assertion=assertion(emulator, other_private))
    assert response.json() == {"error": "invalid_grant", "error_description": "invalid assertion"}
    assert token(emulator, grant_type=JWT_GRANT, assertion="not.a.jwt").json()["error"] == "invalid_grant"


def test_password_flow(emulator: EmulatorHandle) -> None:
    good = {
        "grant_type": "password",
        "client_id": emulator.client_id,
        "client_secret": emulator.client_secret,
        "username": emulator.username,
        "password": emulator.password + emulator.security_token,
    }
    response = token(emulator, **good)
    assert response.status_code == 200
    assert works(emulator, response.json()["access_token"])
    assert "refresh_token" not in response.json()
    assert response.json()["issued_at"].isdigit()
    no_token = token(emulator, **{**good, "password": emulator.password})
    assert no_token.json() == {"error": "invalid_grant", "error_description": "authentication failure"}
    bad_client = token(emulator, **{**good, "client_secret": "nope"})
    assert bad_client.json() == {"error": "invalid_client", "error_description": "invalid client credentials"}


def test_refresh_token_flow(emulator: EmulatorHandle) -> None:
    response = token(
        emulator,
        grant_type="refresh_token",
        refresh_token=emulator.refresh_token,
        client_id=emulator.client_id,
    )
    assert response.status_code == 200
    assert works(emulator, response.json()["access_token"])
    refused = token(emulator, grant_type="refresh_token", refresh_token="stale", client_id=emulator.client_id)
    assert refused.json() == {"error": "invalid_grant", "error_description": "expired access/refresh token"}
    wrong_client = token(
        emulator, grant_type="refresh_token", refresh_token=emulator.refresh_token, client_id="x"
    )
    assert wrong_client.json()["error"] == "invalid_client_id"


def test_refresh_token_rotation() -> None:
    with running_emulator(
        ORG_FILE, refresh_token_rotation=True, jwt_public_key_pem=key_pair()[1]
    ) as emulator:
        first = token(
            emulator,
            grant_type="refresh_token",
            refresh_token=emulator.refresh_token,
            client_id=emulator.client_id,
        )
        rotated = first.json()["refresh_token"]
        assert rotated != emulator.refresh_token
        reuse = token(
            emulator,
            grant_type="refresh_token",
            refresh_token=emulator.refresh_token,
            client_id=emulator.client_id,
        )
        assert reuse.status_code == 400
        assert (
            token(
                emulator, grant_type="refresh_token", refresh_token=rotated, client_id=emulator.client_id
            ).status_code
            == 200
        )


def test_client_credentials_with_basic_auth(emulator: EmulatorHandle) -> None:
    basic = base64.b64encode(f"{emulator.client_id}:{emulator.client_secret}".encode()).decode()
    response = httpx.post(
        f"{emulator.url}/services/oauth2/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert response.status_code == 200
    assert works(emulator, response.json()["access_token"])
    assert token(emulator, grant_type="client_credentials", client_id=emulator.client_id).status_code == 400
    assert token(emulator, grant_type="magic").json()["error"] == "unsupported_grant_type"


def test_every_api_route_needs_a_valid_session(emulator: EmulatorHandle) -> None:
    paths = [
        ("GET", "/sobjects"),
        ("GET", "/query?q=SELECT+Id+FROM+Account"),
        ("POST", "/composite/sobjects"),
        ("POST", "/jobs/ingest"),
        ("GET", "/limits"),
        ("GET", "/sobjects/Account/describe"),
    ]
    for header in ({}, {"Authorization": "Bearer forged"}, {"Authorization": "Basic abc"}):
        for method, path in paths:
            response = httpx.request(method, f"{emulator.url}{API}{path}", headers=header)
            assert response.status_code == 401
            assert response.json() == [
                {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
            ]
            assert response.headers["sforce-limit-info"].startswith("api-usage=0/")


def test_sessions_can_time_out() -> None:
    clock = FakeClock()
    with running_emulator(
        ORG_FILE, clock=clock, session_seconds=60, jwt_public_key_pem=key_pair()[1]
    ) as emulator:
        clock.advance(60)
        assert works(emulator, emulator.token)  # a session lives exactly its lifetime
        clock.advance(0.001)
        assert not works(emulator, emulator.token)
        assert works(emulator, emulator.new_token())


def test_introspect_and_revoke(emulator: EmulatorHandle) -> None:
    url = f"{emulator.url}/services/oauth2"
    active = httpx.post(f"{url}/introspect", data={"token": emulator.token, "client_id": emulator.client_id})
    assert active.json()["active"] is True
    assert active.json()["username"] == emulator.username
    assert httpx.post(f"{url}/introspect", data={"token": "x", "client_id": emulator.client_id}).json() == {
        "active": False
    }
    assert httpx.post(f"{url}/introspect", data={"token": "x", "client_id": "nope"}).status_code == 400
    assert httpx.post(f"{url}/revoke", data={"token": emulator.token}).status_code == 200
    assert not works(emulator, emulator.token)
    assert httpx.post(f"{url}/revoke", data={"token": emulator.token}).status_code == 400
    assert httpx.post(f"{url}/revoke", data={"token": emulator.refresh_token}).status_code == 200
    refresh = token(
        emulator,
        grant_type="refresh_token",
        refresh_token=emulator.refresh_token,
        client_id=emulator.client_id,
    )
    assert refresh.status_code == 400


def test_soap_login_through_simple_salesforce(emulator: EmulatorHandle) -> None:
    session = LoopbackSession(emulator.url)
    try:
        sf: Any = Salesforce(
            username=emulator.username,
            password=emulator.password,
            security_token=emulator.security_token,
            session=session,
        )
        assert sf.query("SELECT Id FROM Account")["totalSize"] == 0
        with pytest.raises(SalesforceAuthenticationFailed) as info:
            Salesforce(username=emulator.username, password="wrong", security_token="", session=session)
        assert info.value.code == "INVALID_LOGIN"
    finally:
        session.close()
    assert emulator.stats()["by_kind"]["soap_login"] == 2
    garbage = httpx.post(f"{emulator.url}/services/Soap/u/59.0", content=b"<not-xml")
    assert garbage.status_code == 500
    assert "INVALID_REQUEST" in garbage.text
