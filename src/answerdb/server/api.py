"""The JSON API under /api: ask, search, articles, related, series, documents, stats.

Every route declares its response model and the errors it may answer, so /openapi.json
describes the API whole; the shapes live in schemas.py, the conversions in payloads.py.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field, ValidationError
from starlette.datastructures import UploadFile

from answerdb.answer.generate import LLMConfig
from answerdb.db import AnswerDB
from answerdb.errors import InputError
from answerdb.server.config import ServerSettings
from answerdb.server.errors import describe_error
from answerdb.server.links import series_slugs, series_summary
from answerdb.server.payloads import answer_json, article_json, document_page, related_json
from answerdb.server.pool import KnowledgeBase
from answerdb.server.schemas import (
    AnswerOut,
    ArticleWithRelated,
    DeletedOut,
    DocumentPage,
    HitOut,
    IngestReportOut,
    RelatedOut,
    SeriesOut,
    StatsOut,
    errors,
)
from answerdb.server.security import Access, reader_guard, writer_guard
from answerdb.server.stream import SSE_DESCRIPTION, sse_response
from answerdb.server.uploads import DocumentIn, read_upload
from answerdb.types import Document, plain
from answerdb.where import parse_where

Mode = Literal["dense", "keyword", "hybrid"]
JSON = "application/json"
MULTIPART = "multipart/form-data"
# What the server's own folders or a store's address would tell a reader: left out of stats.
PRIVATE_STATS = ("path", "uri")


class AskIn(BaseModel):
    """A question, how to retrieve for it, and whether an LLM should write the answer."""

    question: str = Field(min_length=1, max_length=2000)
    k: int = Field(default=5, ge=1, le=50)
    mode: Mode = "hybrid"
    where: dict[str, Any] | None = None
    generate: bool = Field(default=False, description="let the configured LLM write it")
    stream: bool = Field(
        default=False, description="with generate: send Server-Sent Events as it is written"
    )


_DOCUMENT_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            JSON: {"schema": DocumentIn.model_json_schema()},
            MULTIPART: {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                }
            },
        },
    }
}
_STREAM: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/event-stream": {"schema": {"type": "string"}}}}
}


def content_types(*allowed: str) -> Any:
    """A dependency that answers 415 unless the body is one of ``allowed`` media types."""

    def check(request: Request) -> None:
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind not in allowed and not (JSON in allowed and kind.endswith("+json")):
            raise HTTPException(
                415, f"send the body as {' or '.join(allowed)}, not {kind or 'nothing'}"
            )

    return Depends(check)


def api_router(kb: KnowledgeBase, settings: ServerSettings, access: Access) -> APIRouter:
    """Every /api route, bound to one knowledge base."""
    router = APIRouter(prefix="/api", dependencies=[Depends(reader_guard(access))])
    reads = (401,) if access.protect_reads else ()
    _ask_route(router, kb, settings, reads)
    _read_routes(router, kb, reads)
    _document_routes(router, kb, access, reads)
    return router


def _ask_route(
    router: APIRouter, kb: KnowledgeBase, settings: ServerSettings, reads: tuple[int, ...]
) -> None:
    @router.post(
        "/ask",
        response_model=AnswerOut,
        responses={**_STREAM, **errors(*reads, 413, 415, 422)},
        dependencies=[content_types(JSON)],
        summary="Answer a question (optionally generated, optionally streamed)",
        description=SSE_DESCRIPTION,
    )
    def ask(body: AskIn) -> Any:
        if body.stream and not body.generate:
            raise InputError(
                "stream: true needs generate: true (only a generated answer is streamed)"
            )
        config = _llm(settings) if body.generate else None
        with kb.reading() as db:
            answer = db.ask(body.question, k=body.k, where=body.where, mode=body.mode)
        if config is None:
            return answer_json(answer)
        if body.stream:
            return sse_response(config, answer)
        return answer_json(AnswerDB.generate(answer, config))


def _read_routes(router: APIRouter, kb: KnowledgeBase, reads: tuple[int, ...]) -> None:
    @router.get(
        "/search",
        response_model=list[HitOut],
        responses=errors(*reads, 422),
        summary="The best passages for a query",
    )
    def search(
        q: str = Query(min_length=1, max_length=2000),
        k: int = Query(10, ge=1, le=100),
        mode: Mode = "hybrid",
        where: str | None = Query(None, description='JSON filter, e.g. {"series": "Video AI"}'),
    ) -> Any:
        with kb.reading() as db:
            return plain(db.search(q, k=k, where=parse_where(where, "where"), mode=mode))

    @router.get(
        "/articles/{doc_id:path}",
        response_model=ArticleWithRelated,
        responses=errors(*reads, 404, 422),
        summary="One article with its Keep Reading",
    )
    def article(doc_id: str) -> Any:
        with kb.reading() as db:
            doc = _found(db.document(doc_id), doc_id)
            keep = db.related(doc_id, k=5)
        return {**article_json(doc), "keep_reading": related_json(keep)}

    @router.get(
        "/related/{doc_id:path}",
        response_model=list[RelatedOut],
        responses=errors(*reads, 404, 422),
        summary="Keep Reading for an article",
    )
    def related(doc_id: str, k: int = Query(5, ge=1, le=50)) -> Any:
        with kb.reading() as db:
            _found(db.document(doc_id), doc_id)
            return related_json(db.related(doc_id, k=k))

    @router.get(
        "/series",
        response_model=list[SeriesOut],
        responses=errors(*reads),
        summary="The learn series and their articles, in reading order",
    )
    def series() -> Any:
        return [series_summary(s, g) for s, g in series_slugs(kb.series()).items()]

    @router.get(
        "/series/{slug}",
        response_model=SeriesOut,
        responses=errors(*reads, 404, 422),
        summary="One learn series and its articles, in reading order",
    )
    def one_series(slug: str) -> Any:
        group = series_slugs(kb.series()).get(slug)
        if group is None:
            raise HTTPException(404, f"no learn series {slug!r}")
        return series_summary(slug, group)

    @router.get(
        "/stats",
        response_model=StatsOut,
        responses=errors(*reads),
        summary="Counts, sizes and the recorded model",
    )
    def stats() -> Any:
        with kb.reading() as db:
            found = db.stats()
        return {k: v for k, v in found.items() if k not in PRIVATE_STATS}


def _document_routes(
    router: APIRouter, kb: KnowledgeBase, access: Access, reads: tuple[int, ...]
) -> None:
    write = [Depends(writer_guard(access))]

    @router.get(
        "/documents",
        response_model=DocumentPage,
        responses=errors(*reads, 422),
        summary="The stored documents, a page at a time, in the order they were added",
    )
    def documents(offset: int = Query(0, ge=0), limit: int = Query(50, ge=1, le=500)) -> Any:
        with kb.reading() as db:
            return document_page(db.documents(), offset, limit)

    @router.post(
        "/documents",
        status_code=201,
        response_model=IngestReportOut,
        responses=errors(401, 403, 413, 415, 422),
        dependencies=[*write, content_types(JSON, MULTIPART)],
        openapi_extra=_DOCUMENT_BODY,
        summary="Add an article (JSON) or the articles of an uploaded file (multipart)",
    )
    async def add_documents(request: Request) -> Any:
        documents = await _documents_from(request)

        def store() -> Any:
            with kb.writing() as db:
                return plain(db.add(documents))

        return await run_in_threadpool(store)

    @router.delete(
        "/documents/{doc_id:path}",
        response_model=DeletedOut,
        responses=errors(401, 403, 404, 422),
        dependencies=write,
        summary="Delete a document",
    )
    def delete_document(doc_id: str) -> Any:
        with kb.writing() as db:
            if db.delete([doc_id]) == 0:
                raise HTTPException(404, f"no article with id {doc_id!r}")
        return {"deleted": doc_id}


def _llm(settings: ServerSettings) -> LLMConfig:
    if settings.llm is None:
        raise InputError("no LLM is configured on this server (start it with --llm-url)")
    return settings.llm


def _found(doc: Document | None, doc_id: str) -> Document:
    if doc is None:
        raise HTTPException(404, f"no article with id {doc_id!r}")
    return doc


async def _documents_from(request: Request) -> list[Document]:
    if request.headers.get("content-type", "").startswith(MULTIPART):
        form = await request.form(max_files=1, max_fields=10)
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise InputError("file: send the document as a multipart field named 'file'")
        return read_upload(upload.filename or "", await upload.read())
    try:
        return [DocumentIn.model_validate_json(await request.body()).document()]
    except ValidationError as exc:
        raise InputError(describe_error(exc.errors()[0])) from exc
