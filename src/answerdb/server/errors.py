"""Errors as their callers read them: ``{"detail": ...}`` for the API, a page for people.

A page that needs a sign-in answers 401 with the sign-in form, so a browser can get in.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from answerdb.errors import AnswerDBError, InputError, LockedError
from answerdb.server.site import Site

API_PREFIXES = ("/api/", "/health", "/openapi")


def describe_error(error: Any) -> str:
    """One validation error in plain words: ``field: problem``."""
    if error["type"] == "json_invalid":
        return "the request body is not valid JSON"
    where = ".".join(str(p) for p in error["loc"] if p != "body") or "body"
    return f"{where}: {error['msg']}"


def error_handlers(app: FastAPI, site: Site) -> None:
    """Answer every error as JSON under /api and as a page elsewhere."""

    def reply(request: Request, status: int, message: str, **extra: Any) -> Response:
        if wants_json(request):
            return JSONResponse({"detail": message, **extra}, status_code=status)
        if status == 401:
            return site.page(request, "sign-in.html", 401, title="Sign in", next=_here(request))
        title = "Not found" if status == 404 else "Error"
        return site.page(request, "error.html", status, title=title, message=message)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        response = reply(request, exc.status_code, str(exc.detail))
        response.headers.update(exc.headers or {})
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        found = [describe_error(e) for e in exc.errors()]
        errors = list(dict.fromkeys(found))  # one bad JSON body is one problem, not several
        return reply(request, 422, "; ".join(errors), errors=errors)

    @app.exception_handler(InputError)
    async def bad_input(request: Request, exc: InputError) -> Response:
        return reply(request, 422, str(exc))

    @app.exception_handler(LockedError)
    async def locked(request: Request, exc: LockedError) -> Response:
        return reply(request, 503, str(exc))

    @app.exception_handler(AnswerDBError)
    async def failed(request: Request, exc: AnswerDBError) -> Response:
        return reply(request, 409, str(exc))


def wants_json(request: Request) -> bool:
    """Whether the request is the API's (JSON errors) rather than a page's."""
    path = request.url.path
    return path.startswith(API_PREFIXES) or path == "/api"


def _here(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")
