"""Browser sign-in: a cookie that holds an expiring token signed with a key derived from the
API key, and CSRF tokens bound to that cookie. Every comparison is in constant time."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

COOKIE = "answerdb_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf"
LIFETIME_S = 12 * 3600


class Sessions:
    """Issues and checks sign-in tokens; changing the API key signs everyone out."""

    def __init__(self, api_key: str) -> None:
        # A derived key: the cookie never carries, or lets anyone recover, the API key.
        self._key = hmac.new(api_key.encode(), b"answerdb session v1", hashlib.sha256).digest()

    def issue(self, now: float | None = None) -> str:
        """A new token, valid for LIFETIME_S seconds: ``expiry.nonce.signature``."""
        expires = int(now if now is not None else time.time()) + LIFETIME_S
        payload = f"{expires}.{secrets.token_urlsafe(16)}"
        return f"{payload}.{self._sign('session', payload)}"

    def valid(self, token: str | None, now: float | None = None) -> bool:
        """Whether ``token`` was issued here and has not expired."""
        expires, _, rest = (token or "").partition(".")
        nonce, _, signature = rest.partition(".")
        if not (expires.isdigit() and nonce and signature):
            return False
        expected = self._sign("session", f"{expires}.{nonce}")
        fresh = int(expires) > (now if now is not None else time.time())
        return _same(signature, expected) and fresh

    def csrf(self, token: str) -> str:
        """The CSRF token that goes with a session token, for forms and X-CSRF-Token."""
        return self._sign("csrf", token)

    def csrf_ok(self, token: str, given: str | None) -> bool:
        """Whether ``given`` is the CSRF token of session ``token``."""
        return _same(self.csrf(token), given or "")

    def _sign(self, purpose: str, payload: str) -> str:
        message = f"{purpose}:{payload}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()


def _same(given: str, expected: str) -> bool:
    # Bytes: compare_digest refuses str with characters outside ASCII, which a client may send.
    return hmac.compare_digest(given.encode(), expected.encode())
