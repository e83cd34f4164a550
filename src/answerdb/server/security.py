"""API keys: writes always need one; reads only when the server was told to protect them."""

from __future__ import annotations

import hmac
from collections.abc import Callable

from fastapi import HTTPException, Request

KEY_HEADERS = "Authorization: Bearer KEY, or X-API-Key: KEY"


def presented_key(request: Request) -> str:
    """The key a request carries, from ``Authorization: Bearer`` or ``X-API-Key``."""
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return request.headers.get("x-api-key", "").strip()


def check_key(request: Request, expected: str | None, what: str) -> None:
    """Raise 403 when no key is configured, 401 when the request's key is missing or wrong."""
    if not expected:
        raise HTTPException(403, f"{what} are disabled: start the server with ANSWERDB_API_KEY")
    given = presented_key(request)
    if not given or not hmac.compare_digest(given.encode(), expected.encode()):
        raise HTTPException(
            401,
            f"{what} need an API key ({KEY_HEADERS})",
            headers={"WWW-Authenticate": "Bearer"},
        )


def writer_guard(api_key: str | None) -> Callable[[Request], None]:
    """A dependency that lets a request write only with the right key."""

    def guard(request: Request) -> None:
        check_key(request, api_key, "writes")

    return guard


def reader_guard(api_key: str | None, protect_reads: bool) -> Callable[[Request], None]:
    """A dependency that asks readers for the key only when reads are protected."""

    def guard(request: Request) -> None:
        if protect_reads:
            check_key(request, api_key, "reads")

    return guard
