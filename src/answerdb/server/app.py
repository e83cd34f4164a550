"""The app factory: one knowledge base served as a reference site and a JSON API."""

from __future__ import annotations

import dataclasses
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from answerdb import __version__
from answerdb.db import AnswerDB
from answerdb.server.api import api_router
from answerdb.server.config import ServerSettings
from answerdb.server.docs import add_docs
from answerdb.server.errors import error_handlers
from answerdb.server.forms import form_router
from answerdb.server.middleware import AccessLog, BodyLimit, SecurityHeaders
from answerdb.server.pages import page_router
from answerdb.server.pool import KnowledgeBase
from answerdb.server.schemas import HealthOut
from answerdb.server.security import Access
from answerdb.server.site import HERE, Site

DESCRIPTION = (
    "Ask, search and browse one answerdb knowledge base. Writes need the API key "
    "(`Authorization: Bearer KEY` or `X-API-Key: KEY`; the Authorize button sets it), and so "
    "do reads when the server runs with --protect-reads. Browsers may sign in at /sign-in "
    "instead; a signed-in write must send the page's CSRF token as X-CSRF-Token."
)


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
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served by add_docs, from local files
        redoc_url=None,
    )
    access = Access(settings.api_key, settings.protect_reads)
    site = Site(settings, access)
    app.state.kb = base
    app.state.settings = settings
    app.include_router(api_router(base, settings, access))
    app.include_router(page_router(base, site))
    app.include_router(form_router(base, site))
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    add_docs(app, site)
    _plain_routes(app, base, settings)
    error_handlers(app, site)
    app.add_middleware(BodyLimit, limit=settings.max_body)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(AccessLog)
    return app


def _plain_routes(app: FastAPI, base: KnowledgeBase, settings: ServerSettings) -> None:
    @app.get(
        "/health",
        response_model=HealthOut,
        summary="Liveness: the server answers and the catalog is readable",
    )
    def health() -> dict[str, Any]:
        with base.reading() as db:
            documents = db.stats()["documents"]
        return {"status": "ok", "documents": documents, "llm": settings.llm is not None}

    @app.api_route("/favicon.ico", methods=["GET", "HEAD"], include_in_schema=False)
    def favicon() -> FileResponse:
        return FileResponse(HERE / "static" / "favicon.svg", media_type="image/svg+xml")


def _knowledge_base(kb: str | Path | AnswerDB | KnowledgeBase, settings: ServerSettings) -> Any:
    if isinstance(kb, KnowledgeBase):
        return kb
    if isinstance(kb, AnswerDB):
        return KnowledgeBase.wrap(kb)
    return KnowledgeBase.open(kb, readers=settings.readers, min_relevance=settings.min_relevance)
