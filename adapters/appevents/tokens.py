"""Verify the RS256 JWT an application sends with each app event (``Authorization: Bearer``).

Only RS256 is accepted: ``alg: none``, HS256 (including an HMAC "signed" with the public key
as the secret, the classic key-confusion attack) and every other algorithm are refused before
a key is looked at. The public keys come from PEM files (the file's stem is its ``kid``) or a
JWKS file; with several keys the token must name one by ``kid``. Claims ``sub``, ``iat`` and
``exp`` are required; ``exp`` may not have passed and ``iat``/``nbf`` may not be in the future,
each within ``leeway`` seconds; ``aud`` and ``iss`` are checked when configured.

Every refusal is a :class:`TokenRefused` whose message names the claim or header at fault and
never holds the token. Parsed keys are kept (a changed file is read again, looked at no more
than once a second), and a token already verified is remembered until it expires, so an
application reusing one token costs one RSA verification, not one per request.
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from cryptography.x509 import load_pem_x509_certificate

from fieldline.errors import ConfigError

__all__ = ["Claims", "KeySet", "TokenRefused", "TokenVerifier", "load_keys"]

ALGORITHM = "RS256"
MAX_TOKEN_LENGTH = 8192  # a JWT with an RSA-4096 signature and a few claims is ~1 KB
_REMEMBERED_TOKENS = 1024


class TokenRefused(Exception):
    """The bearer token is not acceptable; the message says why (no token in it)."""


@dataclass(frozen=True, slots=True)
class Claims:
    """What a verified token says: the tenant (``sub``) and when it expires."""

    sub: str
    exp: float
    iat: float


@dataclass(frozen=True, slots=True)
class KeySet:
    """The public keys tokens are verified with, by ``kid`` (``None``: a PEM key without one)."""

    keys: Mapping[str, RSAPublicKey]
    files: tuple[Path, ...]

    def choose(self, kid: Any) -> RSAPublicKey:
        if kid is not None and not isinstance(kid, str):
            raise TokenRefused("the token header's kid is not a string")
        if kid is None:
            if len(self.keys) == 1:
                return next(iter(self.keys.values()))
            raise TokenRefused(
                f"the token header has no kid; {len(self.keys)} keys are configured, so it must name one"
            )
        key = self.keys.get(kid)
        if key is None:
            raise TokenRefused(f"the token header's kid {kid[:64]!r} names no configured key")
        return key


def load_keys(files: Sequence[Path]) -> KeySet:
    """Every RSA public key of ``files`` (PEM public keys or certificates, JWKS documents)."""
    keys: dict[str, RSAPublicKey] = {}
    for file in files:
        try:
            text = file.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(
                f"cannot read the app events public key file {str(file)!r}: {exc.strerror}",
                hint="check source.options.public_keys in the spec",
            ) from exc
        found = _jwks(file, text) if text.lstrip().startswith("{") else {file.stem: _pem(file, text)}
        for kid, key in found.items():
            if kid in keys:
                raise ConfigError(
                    f"{file}: the key id {kid!r} is given twice", hint="give each key its own kid"
                )
            keys[kid] = key
    if not keys:
        raise ConfigError("no app events public key is configured", hint="set source.options.public_keys")
    return KeySet(keys=keys, files=tuple(files))


def _pem(file: Path, text: str) -> RSAPublicKey:
    data = text.encode("utf-8")
    try:
        if b"BEGIN CERTIFICATE" in data:
            key: Any = load_pem_x509_certificate(data).public_key()
        else:
            key = load_pem_public_key(data)
    except ValueError as exc:
        hint = "give the public half: openssl rsa -in private.pem -pubout -out public.pem"
        if b"PRIVATE KEY" in data:
            raise ConfigError(f"{file} holds a private key, not a public one", hint=hint) from exc
        raise ConfigError(f"{file} is not a PEM public key or certificate", hint=hint) from exc
    if not isinstance(key, RSAPublicKey):
        raise ConfigError(f"{file}: the key is not an RSA key (RS256 needs one)")
    return key


def _jwks(file: Path, text: str) -> dict[str, RSAPublicKey]:
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise ConfigError(f"{file} is neither PEM nor a JWKS JSON document: {exc}") from exc
    entries = document.get("keys") if isinstance(document, Mapping) else None
    if not isinstance(entries, list):
        raise ConfigError(f"{file}: a JWKS document is an object with a `keys` list")
    keys: dict[str, RSAPublicKey] = {}
    for index, entry in enumerate(entries):
        where = f"{file}: keys[{index}]"
        if not isinstance(entry, Mapping) or entry.get("kty") != "RSA":
            raise ConfigError(f"{where}: only RSA keys (kty RSA) verify RS256 tokens")
        if entry.get("alg") not in (None, ALGORITHM) or entry.get("use") not in (None, "sig"):
            raise ConfigError(f"{where}: the key is not for RS256 signatures (alg/use)")
        kid = entry.get("kid")
        if not isinstance(kid, str) or not kid:
            raise ConfigError(f"{where}: every JWKS key needs a kid (tokens choose keys by it)")
        try:
            key = jwt.algorithms.RSAAlgorithm.from_jwk(dict(entry))
        except (jwt.InvalidKeyError, ValueError, TypeError, KeyError) as exc:
            raise ConfigError(f"{where}: not a valid RSA public key: {exc}") from exc
        if not isinstance(key, RSAPublicKey):
            raise ConfigError(f"{where}: give the public key only (no private parameters)")
        if kid in keys:
            raise ConfigError(f"{where}: the key id {kid!r} is given twice")
        keys[kid] = key
    return keys


class TokenVerifier:
    """Verifies bearer tokens against the configured keys and claim rules (thread-safe)."""

    def __init__(
        self,
        files: Sequence[Path],
        *,
        audience: str | None = None,
        issuer: str | None = None,
        leeway: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.files = tuple(files)
        self.audience = audience
        self.issuer = issuer
        self.leeway = leeway
        self.clock = clock
        self._lock = threading.Lock()
        self._keys = load_keys(self.files)
        self._stamps = self._file_stamps()
        self._checked_at = time.monotonic()
        self._verified: OrderedDict[bytes, Claims] = OrderedDict()

    def verify(self, token: str) -> Claims:
        """The token's claims, or :class:`TokenRefused` saying why not."""
        if not token or len(token) > MAX_TOKEN_LENGTH or token.count(".") != 2:
            raise TokenRefused("the bearer token is not a JWT (header.payload.signature)")
        now = self.clock()
        digest = hashlib.blake2b(token.encode("utf-8", "surrogatepass"), digest_size=20).digest()
        remembered = self._remembered(digest)
        if remembered is not None:
            self._check_times(remembered.exp, remembered.iat, None, now)
            return remembered
        claims = self._verify_signature(token)
        verified = self._check_claims(claims, now)
        with self._lock:
            self._verified[digest] = verified
            if len(self._verified) > _REMEMBERED_TOKENS:
                self._verified.popitem(last=False)
        return verified

    # --- steps ------------------------------------------------------------------------------

    def _remembered(self, digest: bytes) -> Claims | None:
        self._reload_if_changed()
        with self._lock:
            found = self._verified.get(digest)
            if found is not None:
                self._verified.move_to_end(digest)
            return found

    def _verify_signature(self, token: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.DecodeError as exc:
            raise TokenRefused(f"the token header is malformed ({exc})") from None
        alg = header.get("alg")
        if alg != ALGORITHM:
            shown = alg if isinstance(alg, str) else type(alg).__name__
            raise TokenRefused(f"the token header's alg is {shown[:32]!r}; only RS256 is accepted")
        key = self._keys.choose(header.get("kid"))
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key,
                algorithms=[ALGORITHM],
                options={
                    "verify_signature": True,
                    "verify_exp": False,  # checked below against the injectable clock
                    "verify_iat": False,
                    "verify_nbf": False,
                    "verify_aud": False,
                    "verify_iss": False,
                    "verify_sub": False,  # checked below, with a message naming the claim
                    "verify_jti": False,
                },
            )
        except jwt.InvalidSignatureError:
            raise TokenRefused("the token's signature does not verify with the configured key") from None
        except jwt.DecodeError as exc:
            raise TokenRefused(f"the token is malformed ({exc})") from None
        except jwt.InvalidTokenError as exc:
            raise TokenRefused(f"the token is not valid ({exc})") from None
        return claims

    def _check_claims(self, claims: Mapping[str, Any], now: float) -> Claims:
        for name in ("sub", "iat", "exp"):
            if name not in claims:
                raise TokenRefused(f"the token has no {name!r} claim (sub, iat and exp are required)")
        sub = claims["sub"]
        if not isinstance(sub, str) or not sub.strip() or len(sub) > 255 or not sub.isprintable():
            raise TokenRefused("the token's 'sub' claim must be 1-255 printable characters (the app user)")
        times: dict[str, float] = {}
        for name in ("iat", "exp", "nbf"):
            value = claims.get(name)
            if value is None and name == "nbf":
                continue
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise TokenRefused(f"the token's {name!r} claim must be a number of seconds since 1970")
            times[name] = float(value)
        self._check_times(times["exp"], times["iat"], times.get("nbf"), now)
        if self.audience is not None:
            aud = claims.get("aud")
            audiences = aud if isinstance(aud, list) else [aud]
            if aud is None:
                raise TokenRefused(f"the token has no 'aud' claim; expected {self.audience!r}")
            if self.audience not in audiences:
                raise TokenRefused(f"the token's 'aud' claim does not include {self.audience!r}")
        if self.issuer is not None:
            iss = claims.get("iss")
            if iss is None:
                raise TokenRefused(f"the token has no 'iss' claim; expected {self.issuer!r}")
            if iss != self.issuer:
                raise TokenRefused(f"the token's 'iss' claim is not {self.issuer!r}")
        return Claims(sub=sub, exp=times["exp"], iat=times["iat"])

    def _check_times(self, exp: float, iat: float, nbf: float | None, now: float) -> None:
        if exp <= now - self.leeway:
            raise TokenRefused(f"the token expired {now - exp:.0f} s ago ('exp' claim)")
        if iat > now + self.leeway:
            raise TokenRefused(f"the token is issued {iat - now:.0f} s in the future ('iat' claim)")
        if nbf is not None and nbf > now + self.leeway:
            raise TokenRefused(f"the token is not valid for {nbf - now:.0f} s yet ('nbf' claim)")

    # --- key rotation -----------------------------------------------------------------------

    def _file_stamps(self) -> tuple[tuple[int, int], ...]:
        stamps = []
        for file in self.files:
            try:
                stat = file.stat()
            except OSError:
                stamps.append((-1, -1))
            else:
                stamps.append((stat.st_mtime_ns, stat.st_size))
        return tuple(stamps)

    def _reload_if_changed(self) -> None:
        """A new key file (rotation) takes effect within a second; tokens verified with a
        key no longer there are forgotten."""
        moment = time.monotonic()
        if moment - self._checked_at < 1.0:
            return
        self._checked_at = moment
        stamps = self._file_stamps()
        if stamps == self._stamps:
            return
        try:
            keys = load_keys(self.files)
        except ConfigError as exc:  # a half-written file: keep the keys we have, say so
            import logging

            logging.getLogger(__name__).warning("app events keys not reloaded: %s", exc)
            return
        with self._lock:
            self._keys = keys
            self._stamps = stamps
            self._verified.clear()
