"""Keys, specs and requests for the app events tests (shared by tests and the benchmark)."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from fieldline.adapters.appevents.cli import sign_token
from fieldline.adapters.appevents.options import parse_options
from fieldline.adapters.appevents.source import AppEventsSource
from fieldline.contracts import AdapterContext

REPO_ROOT = Path(__file__).resolve().parents[2]
SHIPPED_SPEC = REPO_ROOT / "mappings" / "app-events-salesforce.yaml"
SCHEMAS = REPO_ROOT / "mappings" / "app-events"


@dataclass(frozen=True)
class KeyPair:
    private_pem: str
    public_pem: str
    key: rsa.RSAPrivateKey

    def jwk(self, kid: str) -> dict[str, Any]:
        public = self.key.public_key().public_numbers()

        def encode(number: int) -> str:
            raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
            return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

        return {
            "kty": "RSA",
            "kid": kid,
            "alg": "RS256",
            "use": "sig",
            "n": encode(public.n),
            "e": encode(public.e),
        }


@cache
def key_pair(number: int = 0) -> KeyPair:
    """RSA key pairs made once per test process (number 0, 1, 2... are different keys)."""
    del number
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return KeyPair(private_pem=private, public_pem=public, key=key)


def token(sub: Any = "user-1", *, number: int = 0, kid: str | None = None, **changes: Any) -> str:
    """A valid RS256 token of key ``number``; ``changes`` override or (None) drop claims
    (``sub=None`` drops the subject)."""
    now = int(time.time())
    claims: dict[str, Any] = {"sub": sub, "iat": now, "exp": now + 600}
    if sub is None:
        del claims["sub"]
    for name, value in changes.items():
        if value is None:
            claims.pop(name, None)
        else:
            claims[name] = value
    headers = {"kid": kid} if kid else None
    # a key object, not the PEM: parsing a private key checks it, ~100 times slower than signing
    return jwt.encode(claims, key_pair(number).key, algorithm="RS256", headers=headers)


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


def lead(email: str = "ada@example.com", **fields: Any) -> dict[str, Any]:
    return {"email": email, "last_name": "Lovelace", **fields}


def event(
    name: str = "Lead Created", payload: Mapping[str, Any] | None = None, **extra: Any
) -> dict[str, Any]:
    return {"name": name, "payload": dict(payload if payload is not None else lead()), **extra}


def body(document: Any) -> bytes:
    return json.dumps(document).encode()


def write_spec(
    folder: Path,
    *,
    public_keys: Any = "app-public.pem",
    connections: Mapping[str, Mapping[str, Any]] | None = None,
    extra_options: Mapping[str, Any] | None = None,
    target_options: Mapping[str, Any] | None = None,
) -> Path:
    """The shipped spec, its schemas and key 0's public key copied into ``folder``; with
    ``connections`` (tenant -> salesforce settings), a connections file too."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "app-events").mkdir(exist_ok=True)
    for schema in SCHEMAS.glob("*.schema.json"):
        (folder / "app-events" / schema.name).write_text(schema.read_text())
    (folder / "app-public.pem").write_text(key_pair(0).public_pem)
    text = SHIPPED_SPEC.read_text()
    text = text.replace("public_keys: app-events/app-public.pem", f"public_keys: {json.dumps(public_keys)}")
    if extra_options:
        options = "".join(f"    {key}: {json.dumps(value)}\n" for key, value in extra_options.items())
        text = text.replace("    leeway: 30\n", f"    leeway: 30\n{options}")
    if target_options:
        text = text.replace(
            "target:\n  adapter: salesforce\n",
            f"target:\n  adapter: salesforce\n  options: {json.dumps(dict(target_options))}\n",
        )
    if connections is None:
        text = text.replace("connections: app-events/connections.yaml\n", "")
    else:
        document = {
            "tenants": {tenant: {"salesforce": dict(settings)} for tenant, settings in connections.items()}
        }
        (folder / "app-events" / "connections.yaml").write_text(json.dumps(document, indent=1))
    spec = folder / "app-events-salesforce.yaml"
    spec.write_text(text)
    return spec


def make_source(
    folder: Path,
    *,
    tenants: frozenset[str] | None = None,
    public_keys: Any = "app-public.pem",
    **options: Any,
) -> AppEventsSource:
    """An appevents source for the shipped event types, verifying with key 0 (or ``public_keys``)."""
    write_spec(folder)
    (folder / "app-public.pem").write_text(key_pair(0).public_pem)
    raw: dict[str, Any] = {
        "public_keys": public_keys,
        "events": [
            {
                "name": "Lead Created",
                "schema": "app-events/lead-created.schema.json",
                "entity_key": "payload.email",
            },
            {
                "name": "Lead Updated",
                "schema": "app-events/lead-updated.schema.json",
                "entity_key": "payload.email",
            },
        ],
        **options,
    }
    context = AdapterContext(spec_folder=folder, tenants=tenants)
    return AppEventsSource(parse_options(raw, context), tenants=tenants)


__all__ = ["bearer", "body", "event", "key_pair", "lead", "make_source", "sign_token", "token", "write_spec"]
