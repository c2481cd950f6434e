"""Console sign-in: sessions held in memory, their cookie, and CSRF tokens.

An operator signs in once with the operator token; the browser then holds only a random
session id in a cookie that scripts cannot read (``HttpOnly``) and other sites cannot send
(``SameSite=Strict``). Every state-changing form carries a CSRF token derived from the session
(an HMAC under a key made at start), checked in constant time. Without an operator token the
console answers loopback clients only, and each of them gets a session without signing in,
so its forms are still protected against cross-site posts.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from fieldline.config import Secret

__all__ = ["COOKIE_NAME", "SessionBook"]

COOKIE_NAME = "fieldline_console"
_MAX_SESSIONS = 1000  # an operator console: a handful in practice; the oldest go first


@dataclass
class SessionBook:
    """Live console sessions: id -> expiry. ``idle_seconds`` since last use ends a session."""

    token: Secret | None
    idle_seconds: float = 8 * 3600
    clock: Callable[[], float] = time.monotonic
    _expiries: dict[str, float] = field(default_factory=dict)
    _key: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def needs_sign_in(self) -> bool:
        return self.token is not None

    def token_matches(self, given: str) -> bool:
        """Whether ``given`` is the operator token (constant time)."""
        if self.token is None:
            return False
        return hmac.compare_digest(given.encode(), self.token.reveal().encode())

    def open(self) -> str:
        """A new session id."""
        session = secrets.token_urlsafe(32)
        with self._lock:
            if len(self._expiries) >= _MAX_SESSIONS:
                oldest = min(self._expiries, key=self._expiries.__getitem__)
                del self._expiries[oldest]
            self._expiries[session] = self.clock() + self.idle_seconds
        return session

    def is_live(self, session: str | None) -> bool:
        """Whether ``session`` is signed in; using it keeps it alive."""
        if not session:
            return False
        now = self.clock()
        with self._lock:
            expiry = self._expiries.get(session)
            if expiry is None or expiry <= now:
                self._expiries.pop(session, None)
                return False
            self._expiries[session] = now + self.idle_seconds
        return True

    def close(self, session: str | None) -> None:
        with self._lock:
            self._expiries.pop(session or "", None)

    def csrf_token(self, session: str) -> str:
        return hmac.new(self._key, session.encode(), hashlib.sha256).hexdigest()

    def csrf_matches(self, session: str | None, given: str) -> bool:
        if not session:
            return False
        return hmac.compare_digest(self.csrf_token(session).encode(), given.encode())
