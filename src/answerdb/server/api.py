"""The JSON API under /api: ask, search, articles, related, series, documents, stats."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field, ValidationError
from starlette.datastructures import UploadFile

from answerdb.answer.generate import LLMConfig
from answerdb.db import AnswerDB
from answerdb.errors import InputError
from answerdb.server.config import ServerSettings
from answerdb.server.links import doc_url, series_slugs, series_summary, source_label
from answerdb.server.pool import KnowledgeBase
from answerdb.server.security import reader_guard, writer_guard
from answerdb.server.uploads import DocumentIn, read_upload
from answerdb.types import Answer, Document, plain
from answerdb.where import parse_where

Mode = Literal["dense", "keyword", "hybrid"]


class AskIn(BaseModel):
    """A question, how to retrieve for it, and whether an LLM should write the answer."""

    question: str = Field(min_length=1, max_length=2000)
    k: int = Field(default=5, ge=1, le=50)
    mode: Mode = "hybrid"
    where: dict[str, Any] | None = None
    generate: bool = Field(default=False, description="let the configured LLM write it")
    stream: bool = Field(default=False, description="send Server-Sent Events as it is written")


_DOCUMENT_BODY = {
    "requestBody": {
        "content": {
            "application/json": {"schema": DocumentIn.model_json_schema()},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                }
            },
        }
    }
}


def api_router(kb: KnowledgeBase, settings: ServerSettings) -> APIRouter:
    """Every /api route, bound to one knowledge base."""
    router = APIRouter(prefix="/api", dependencies=[Depends(reader_guard(*_read_key(settings)))])
    _read_routes(router, kb, settings)
    _write_routes(router, kb, settings)
    return router


def _read_routes(router: APIRouter, kb: KnowledgeBase, settings: ServerSettings) -> None:

    @router.post("/ask", summary="Answer a question (optionally generated, optionally streamed)")
    def ask(body: AskIn) -> Any:
        with kb.reading() as db:
            answer = db.ask(body.question, k=body.k, where=body.where, mode=body.mode)
        if not body.generate:
            return answer_json(answer)
        config = _llm(settings)
        if body.stream:
            return StreamingResponse(sse(config, answer), media_type="text/event-stream")
        return answer_json(AnswerDB.generate(answer, config))

    @router.get("/search", summary="The best passages for a query")
    def search(
        q: str = Query(min_length=1, max_length=2000),
        k: int = Query(10, ge=1, le=100),
        mode: Mode = "hybrid",
        where: str | None = Query(None, description='JSON filter, e.g. {"series": "Video AI"}'),
    ) -> Any:
        with kb.reading() as db:
            return plain(db.search(q, k=k, where=_where(where), mode=mode))

    @router.get("/articles/{doc_id:path}", summary="One article with its Keep Reading")
    def article(doc_id: str) -> Any:
        with kb.reading() as db:
            doc = _found(db.document(doc_id), doc_id)
            keep = db.related(doc_id, k=5)
        return {**article_json(doc), "keep_reading": plain(keep)}

    @router.get("/related/{doc_id:path}", summary="Keep Reading for an article")
    def related(doc_id: str, k: int = Query(5, ge=1, le=50)) -> Any:
        with kb.reading() as db:
            _found(db.document(doc_id), doc_id)
            return plain(db.related(doc_id, k=k))

    @router.get("/series", summary="The learn series and their articles, in reading order")
    def series() -> Any:
        return [series_summary(s, g) for s, g in series_slugs(kb.series()).items()]

    @router.get("/stats", summary="Counts, sizes and the recorded model")
    def stats() -> Any:
        with kb.reading() as db:
            found = db.stats()
        found.pop("path", None)  # the server's folders are not the reader's business
        return found


def _write_routes(router: APIRouter, kb: KnowledgeBase, settings: ServerSettings) -> None:
    write = [Depends(writer_guard(settings.api_key))]

    @router.post(
        "/documents",
        status_code=201,
        dependencies=write,
        openapi_extra=_DOCUMENT_BODY,
        summary="Add an article (JSON) or the articles of an uploaded file (multipart)",
    )
    async def add_documents(request: Request) -> Any:
        documents = await _documents_from(request)

        def store() -> Any:
            with kb.writing() as db:
                return plain(db.add(documents))

        return await run_in_threadpool(store)

    @router.delete("/documents/{doc_id:path}", dependencies=write, summary="Delete a document")
    def delete_document(doc_id: str) -> Any:
        with kb.writing() as db:
            if db.delete([doc_id]) == 0:
                raise HTTPException(404, f"no article with id {doc_id!r}")
        return {"deleted": doc_id}


def answer_json(answer: Answer) -> dict[str, Any]:
    """An Answer as JSON, with the page address of each cited and related article."""
    data: dict[str, Any] = plain(answer)
    for citation in data["citations"]:
        citation["url"] = doc_url(citation["hit"]["doc_id"])
    for item in data["keep_reading"]:
        item["url"] = doc_url(item["doc_id"])
    return data


def article_json(doc: Document) -> dict[str, Any]:
    """A document as JSON, without the server's file paths."""
    return {
        "doc_id": doc.doc_id,
        "url": doc_url(doc.doc_id),
        "question": doc.question,
        "title": doc.title,
        "heading": doc.heading,
        "text": doc.text,
        "source": source_label(doc),
        "metadata": doc.metadata,
    }


def sse(config: LLMConfig, answer: Answer) -> Iterator[str]:
    """Server-Sent Events: ``answer`` (extractive), ``token`` pieces, then ``done``."""
    yield _event("answer", answer_json(answer))
    for item in AnswerDB.generate_stream(answer, config):
        if isinstance(item, str):
            yield _event("token", {"text": item})
        else:
            yield _event("done", answer_json(item))


def _event(name: str, data: Any) -> str:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def _read_key(settings: ServerSettings) -> tuple[str | None, bool]:
    return settings.api_key, settings.protect_reads


def _llm(settings: ServerSettings) -> LLMConfig:
    if settings.llm is None:
        raise InputError("no LLM is configured on this server (start it with --llm-url)")
    return settings.llm


def _found(doc: Document | None, doc_id: str) -> Document:
    if doc is None:
        raise HTTPException(404, f"no article with id {doc_id!r}")
    return doc


def _where(text: str | None) -> dict[str, Any] | None:
    return parse_where(text, "where")


async def _documents_from(request: Request) -> list[Document]:
    kind = request.headers.get("content-type", "")
    if kind.startswith("multipart/form-data"):
        form = await request.form(max_files=1, max_fields=10)
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise InputError("file: send the document as a multipart field named 'file'")
        return read_upload(upload.filename or "", await upload.read())
    try:
        return [DocumentIn.model_validate_json(await request.body()).document()]
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise InputError(f"{where}: {first['msg']}") from exc
