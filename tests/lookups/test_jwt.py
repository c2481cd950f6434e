"""Lookup callers with RS256 JWTs instead of API keys."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from fieldline.lookups.auth import load_caller_auth

_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
_OTHER = rsa.generate_private_key(public_exponent=65537, key_size=2048)
_PUBLIC_PEM = (
    _KEY.public_key()
    .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    .decode()
)


def _token(key: rsa.RSAPrivateKey = _KEY, **claims: object) -> str:
    payload = {"exp": time.time() + 60, "aud": "fieldline-lookup", "iss": "the-app", **claims}
    return jwt.encode(payload, key, algorithm="RS256")


def _unsigned(claims: dict[str, object]) -> str:
    """A token claiming ``alg: none`` (no signature)."""

    def part(value: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


@pytest.fixture
def environ(tmp_path: Path) -> dict[str, str]:
    public = tmp_path / "caller.pem"
    public.write_text(_PUBLIC_PEM)
    (tmp_path / "empty.toml").write_text("")
    return {
        "FIELDLINE_LOOKUP_JWT_PUBLIC_KEY_FILE": str(public),
        "FIELDLINE_LOOKUP_JWT_AUDIENCE": "fieldline-lookup",
        "FIELDLINE_LOOKUP_JWT_ISSUER": "the-app",
        "FIELDLINE_CONFIG": str(tmp_path / "empty.toml"),
    }


def _allows(environ: dict[str, str], token: str) -> bool:
    return load_caller_auth(environ).allows_headers({"authorization": f"Bearer {token}"})


def test_a_valid_token_is_let_in(environ: dict[str, str]) -> None:
    assert _allows(environ, _token())


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(_token(exp=time.time() - 5), id="expired"),
        pytest.param(
            jwt.encode({"aud": "fieldline-lookup", "iss": "the-app"}, _KEY, algorithm="RS256"), id="no-exp"
        ),
        pytest.param(_token(_OTHER), id="other-key"),
        pytest.param(_token(aud="someone-else"), id="audience"),
        pytest.param(_token(iss="intruder"), id="issuer"),
        pytest.param(
            jwt.encode(
                {"exp": time.time() + 60, "aud": "fieldline-lookup", "iss": "the-app"}, "x" * 32, "HS256"
            ),
            id="hmac",
        ),
        pytest.param(
            _unsigned({"exp": time.time() + 60, "aud": "fieldline-lookup", "iss": "the-app"}),
            id="alg-none",
        ),
        pytest.param("a.b.c", id="garbage"),
    ],
)
def test_a_bad_token_is_refused(environ: dict[str, str], token: str) -> None:
    assert not _allows(environ, token)


def test_an_unreadable_key_file_is_a_clear_error(tmp_path: Path) -> None:
    from fieldline.errors import ConfigError

    with pytest.raises(ConfigError, match="cannot read the lookup JWT public key"):
        load_caller_auth({"FIELDLINE_LOOKUP_JWT_PUBLIC_KEY_FILE": str(tmp_path / "missing.pem")})
