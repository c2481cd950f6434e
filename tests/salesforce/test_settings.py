"""Connection settings: login hosts, auth-flow detection, secrets kept out of text."""

from __future__ import annotations

from pathlib import Path

import pytest

from fieldline.adapters.salesforce.settings import (
    AuthMethod,
    SalesforceSettings,
    load_settings,
    normalize_api_version,
    settings_from_mapping,
)
from fieldline.config import Secret
from fieldline.errors import ConfigError


@pytest.mark.parametrize(
    ("raw", "login_url", "audience"),
    [
        pytest.param({}, "https://login.salesforce.com", "https://login.salesforce.com", id="production"),
        pytest.param(
            {"domain": "test"}, "https://test.salesforce.com", "https://test.salesforce.com", id="sandbox"
        ),
        pytest.param(
            {"domain": "acme.my"},
            "https://acme.my.salesforce.com",
            "https://login.salesforce.com",
            id="domain-my",
        ),
        pytest.param(
            {"my_domain": "acme"},
            "https://acme.my.salesforce.com",
            "https://login.salesforce.com",
            id="my-domain",
        ),
        pytest.param(
            {"my_domain": "acme--uat.sandbox.my"},
            "https://acme--uat.sandbox.my.salesforce.com",
            "https://test.salesforce.com",
            id="sandbox-my-domain",
        ),
        pytest.param(
            {"emulator_url": "http://127.0.0.1:9999/", "domain": "test"},
            "http://127.0.0.1:9999",
            "http://127.0.0.1:9999",
            id="emulator-wins",
        ),
        pytest.param(
            {"login_url": "https://sso.example.com"},
            "https://sso.example.com",
            "https://login.salesforce.com",
            id="explicit",
        ),
    ],
)
def test_login_hosts(raw: dict[str, str], login_url: str, audience: str) -> None:
    settings = settings_from_mapping(raw)
    assert settings.login_url == login_url
    assert settings.audience == audience


@pytest.mark.parametrize(
    ("raw", "method"),
    [
        pytest.param({"instance_url": "https://x", "access_token": "t"}, AuthMethod.TOKEN, id="token"),
        pytest.param(
            {"username": "u", "consumer_key": "k", "private_key_file": "k.pem"}, AuthMethod.JWT, id="jwt"
        ),
        pytest.param({"client_id": "c", "refresh_token": "r"}, AuthMethod.REFRESH_TOKEN, id="refresh"),
        pytest.param({"username": "u", "password": "p"}, AuthMethod.PASSWORD, id="password"),
        pytest.param(
            {"auth": "PASSWORD", "username": "u", "password": "p", "client_id": "c", "refresh_token": "r"},
            AuthMethod.PASSWORD,
            id="explicit",
        ),
    ],
)
def test_auth_method_detection(raw: dict[str, str], method: AuthMethod) -> None:
    assert settings_from_mapping(raw).auth_method is method


def test_no_credentials_says_which_variables_to_set() -> None:
    with pytest.raises(ConfigError) as caught:
        _ = settings_from_mapping({}).auth_method
    assert "FIELDLINE_SALESFORCE_USERNAME" in str(caught.value)


def test_secrets_never_show_in_repr() -> None:
    settings = settings_from_mapping({"username": "u", "password": "hunter2", "security_token": "tok123"})
    assert isinstance(settings.password, Secret)
    assert "hunter2" not in repr(settings)
    assert "tok123" not in repr(settings)


def test_environment_and_config_file(tmp_path: Path) -> None:
    config = tmp_path / "fieldline.toml"
    config.write_text('[salesforce]\ndomain = "test"\nusername = "file-user"\napi_version = 60\n')
    settings = load_settings(
        {
            "FIELDLINE_CONFIG": str(config),
            "FIELDLINE_SALESFORCE_USERNAME": "env-user",
            "FIELDLINE_SALESFORCE_PASSWORD": "p",
        }
    )
    assert settings.username == "env-user"
    assert settings.domain == "test"
    assert settings.api_version == "60.0"
    assert settings.auth_method is AuthMethod.PASSWORD


def test_unknown_setting_is_refused() -> None:
    with pytest.raises(ConfigError, match="passwrd"):
        settings_from_mapping({"passwrd": "x"})


@pytest.mark.parametrize(
    ("raw", "expected"), [(59, "59.0"), ("v60.0", "60.0"), ("61", "61.0"), (58.0, "58.0")]
)
def test_api_version_forms(raw: object, expected: str) -> None:
    assert normalize_api_version(raw) == expected


def test_bad_api_version() -> None:
    with pytest.raises(ConfigError, match="version"):
        normalize_api_version("latest")


def test_missing_private_key_file_is_a_config_error(tmp_path: Path) -> None:
    settings = SalesforceSettings(username="u", consumer_key="k", private_key_file=str(tmp_path / "nope.pem"))
    with pytest.raises(ConfigError, match=r"nope\.pem"):
        settings.private_key_pem()


def test_jwt_assertion_claims_for_a_sandbox() -> None:
    import jwt
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from fieldline.adapters.salesforce.auth import jwt_assertion

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    settings = settings_from_mapping(
        {"domain": "test", "username": "int@acme.com.uat", "consumer_key": "3MVG9abc", "private_key": pem}
    )
    token = jwt_assertion(settings, now=1_700_000_000)
    claims = jwt.decode(
        token,
        key.public_key(),
        algorithms=["RS256"],
        audience="https://test.salesforce.com",
        options={"verify_exp": False},
    )
    assert claims == {
        "iss": "3MVG9abc",
        "sub": "int@acme.com.uat",
        "aud": "https://test.salesforce.com",
        "exp": 1_700_000_180,
    }


def test_unusable_private_key_is_a_config_error() -> None:
    from fieldline.adapters.salesforce.auth import jwt_assertion

    settings = settings_from_mapping({"username": "u", "consumer_key": "k", "private_key": "not a key"})
    with pytest.raises(ConfigError, match="cannot sign"):
        jwt_assertion(settings)
