"""The app factory: one knowledge base served as a reference site and a JSON API."""

from __future__ import annotations

import dataclasses
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from answerdb import __version__
from answerdb.db import AnswerDB
from answerdb.errors import AnswerDBError, InputError, LockedError
from answerdb.server.api import api_router
from answerdb.server.config import ServerSettings
from answerdb.server.middleware import AccessLog, BodyLimit
from answerdb.server.pages import HERE, page_router, templates
from answerdb.server.pool import KnowledgeBase


def create_app(
    kb: str | Path | AnswerDB | KnowledgeBase,
    settings: ServerSettings | None = None,
    **overrides: Any,
) -> FastAPI:
    """A FastAPI app serving ``kb``: a folder (opened with a pool of reader handles and one
    writer, closed with the app), an open AnswerDB (used behind one lock, left open), or a
    KnowledgeBase. ``overrides`` replace fields of ``settings`` (``api_key="..."``)."""
    settings = settings or ServerSettings.from_env()
    if overrides:
        settings = dataclasses.replace(settings, **overrides)
    base = _knowledge_base(kb, settings)
    owned = isinstance(kb, str | Path)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> Any:
        yield
        if owned:
            base.close()

    app = FastAPI(
        title=f"{settings.title} API",
        version=__version__,
        description="Ask, search and browse one answerdb knowledge base.",
        lifespan=lifespan,
    )
    app.state.kb = base
    app.state.settings = settings
    app.include_router(api_router(base, settings))
    app.include_router(page_router(base, settings))
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.get("/health", summary="Liveness: the server answers and the catalog is readable")
    def health() -> dict[str, Any]:
        with base.reading() as db:
            documents = db.stats()["documents"]
        return {"status": "ok", "documents": documents, "llm": settings.llm is not None}

    _error_handlers(app)
    app.add_middleware(BodyLimit, limit=settings.max_body)
    app.add_middleware(AccessLog)
    return app


def _knowledge_base(kb: str | Path | AnswerDB | KnowledgeBase, settings: ServerSettings) -> Any:
    if isinstance(kb, KnowledgeBase):
        return kb
    if isinstance(kb, AnswerDB):
        return KnowledgeBase.wrap(kb)
    return KnowledgeBase.open(kb, readers=settings.readers)


def _error_handlers(app: FastAPI) -> None:
    pages = templates()

    def reply(request: Request, status: int, message: str, **extra: Any) -> Response:
        if _wants_json(request):
            return JSONResponse({"detail": message, **extra}, status_code=status)
        context = {"title": "Not found" if status == 404 else "Error", "message": message}
        context["site"] = app.state.settings.title
        return pages.TemplateResponse(request, "error.html", context, status_code=status)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        response = reply(request, exc.status_code, str(exc.detail))
        response.headers.update(exc.headers or {})
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        errors = [
            f"{'.'.join(str(p) for p in e['loc'] if p != 'body') or 'body'}: {e['msg']}"
            for e in exc.errors()
        ]
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


def _wants_json(request: Request) -> bool:
    path = request.url.path
    return path.startswith(("/api/", "/health", "/docs", "/openapi")) or path == "/api"
