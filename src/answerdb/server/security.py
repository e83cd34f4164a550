"""Who may read and write: an API key in a header, or a browser's sign-in cookie.

Writes always need one; reads only when the server protects them. A write that rests on the
cookie must also carry the session's CSRF token, so another site cannot make a browser write.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Annotated

from fastapi import HTTPException, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from answerdb.server.session import COOKIE, CSRF_HEADER, Sessions

KEY_HEADERS = "Authorization: Bearer KEY, or X-API-Key: KEY"
# Declared for OpenAPI (the Authorize button); the guards read the headers themselves.
API_KEY = APIKeyHeader(name="X-API-Key", auto_error=False, scheme_name="apiKey")
BEARER = HTTPBearer(auto_error=False, scheme_name="bearer", description="the API key")

Guard = Callable[..., None]


def presented_key(request: Request) -> str:
    """The key a request carries, from ``Authorization: Bearer`` or ``X-API-Key``."""
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return request.headers.get("x-api-key", "").strip()


class Access:
    """The server's API key, whether reads need it, and the sign-in sessions it signs."""

    def __init__(self, api_key: str | None, protect_reads: bool) -> None:
        self.api_key = api_key or None
        self.protect_reads = protect_reads
        self.sessions = Sessions(api_key) if api_key else None

    def session(self, request: Request) -> str | None:
        """The request's valid sign-in token, if it has one."""
        token = request.cookies.get(COOKIE)
        if self.sessions is not None and self.sessions.valid(token):
            return token
        return None

    def csrf_token(self, request: Request) -> str:
        """The CSRF token for the request's session; '' when it is not signed in."""
        token = self.session(request)
        return self.sessions.csrf(token) if token and self.sessions else ""

    def key_matches(self, given: str) -> bool:
        """Whether ``given`` is the API key (constant time)."""
        expected = (self.api_key or "").encode()
        return bool(self.api_key) and hmac.compare_digest(given.encode(), expected)

    def check(self, request: Request, what: str, write: bool) -> None:
        """Raise 403 when no key is configured, 401 when the key is missing or wrong (or the
        cookie's sign-in expired), 403 for a cookie write without its CSRF token."""
        if not self.api_key:
            raise HTTPException(403, f"{what} are disabled: start the server with ANSWERDB_API_KEY")
        given = presented_key(request)
        if given:
            if not self.key_matches(given):
                raise _unauthorised("wrong API key")
            return
        token = self.session(request)
        if token is None:
            raise _unauthorised(f"{what} need an API key ({KEY_HEADERS}), or sign in at /sign-in")
        if write and not self._csrf_ok(token, request.headers.get(CSRF_HEADER)):
            raise HTTPException(403, f"a signed-in write needs the {CSRF_HEADER} header")

    def _csrf_ok(self, token: str, given: str | None) -> bool:
        return self.sessions is not None and self.sessions.csrf_ok(token, given)


def writer_guard(access: Access) -> Guard:
    """A dependency that lets a request write only with the key (or signed in, with CSRF)."""

    def guard(
        request: Request,
        _key: Annotated[str | None, Security(API_KEY)] = None,
        _bearer: Annotated[HTTPAuthorizationCredentials | None, Security(BEARER)] = None,
    ) -> None:
        access.check(request, "writes", write=True)

    return guard


def reader_guard(access: Access) -> Guard:
    """A dependency that asks readers for the key only when reads are protected; OpenAPI
    shows the key as needed only then."""
    if not access.protect_reads:
        return lambda: None

    def guard(
        request: Request,
        _key: Annotated[str | None, Security(API_KEY)] = None,
        _bearer: Annotated[HTTPAuthorizationCredentials | None, Security(BEARER)] = None,
    ) -> None:
        access.check(request, "reads", write=False)

    return guard


def _unauthorised(message: str) -> HTTPException:
    return HTTPException(401, message, headers={"WWW-Authenticate": "Bearer"})
