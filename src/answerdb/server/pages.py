"""The reference site: home, article, ask and series pages, rendered on the server.

Every page works without JavaScript; ``static/ask.js`` only streams a generated answer into
the ask page when an LLM is configured. Templates autoescape everything they print.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse

from answerdb.answer.series import Series
from answerdb.db import AnswerDB
from answerdb.server.links import article_summary, series_slugs, source_label
from answerdb.server.pool import KnowledgeBase
from answerdb.server.security import reader_guard
from answerdb.server.site import Site

RECENT = 8
NEIGHBOURS = 2
MAX_QUESTION = 2000
PAGE = ["GET", "HEAD"]


def page_router(kb: KnowledgeBase, site: Site) -> APIRouter:
    """Every HTML page, bound to one knowledge base."""
    guard = Depends(reader_guard(site.access))
    router = APIRouter(dependencies=[guard], include_in_schema=False)
    render = site.page
    settings = site.settings

    @router.api_route("/", methods=PAGE, response_class=HTMLResponse)
    def home(request: Request) -> HTMLResponse:
        with kb.reading() as db:
            documents = db.documents()
        recent = [article_summary(d) for d in reversed(documents[-RECENT:])]
        slugs = series_slugs(kb.series())
        return render(request, "home.html", series=slugs, recent=recent, count=len(documents))

    @router.api_route("/q/{doc_id:path}", methods=PAGE, response_class=HTMLResponse)
    def article(request: Request, doc_id: str) -> HTMLResponse:
        with kb.reading() as db:
            doc = db.document(doc_id)
            if doc is None:
                raise HTTPException(404, f"no article with id {doc_id!r}")
            keep = db.related(doc_id, k=5)
        place = _place_in_series(doc_id, kb.series())
        return render(
            request,
            "article.html",
            title=doc.heading or doc_id,
            doc=doc,
            source=source_label(doc),
            related=keep,
            place=place,
        )

    @router.api_route("/ask", methods=PAGE, response_class=HTMLResponse)
    def ask(request: Request, q: str = "", generate: bool = False) -> HTMLResponse:
        if not q.strip():
            return render(request, "ask.html", title="Ask", question="", answer=None)
        if len(q) > MAX_QUESTION:
            problem = (
                f"Your question is {len(q):,} characters long; a question can have at most "
                f"{MAX_QUESTION:,}. Shorten it and ask again."
            )
            return render(
                request, "ask.html", 422, title="Question too long", question=q, problem=problem
            )
        with kb.reading() as db:
            answer = db.ask(q, k=5)
        llm = settings.llm
        if generate and llm is not None:  # the no-JavaScript way to a generated answer
            answer = AnswerDB.generate(answer, llm)
        stream = llm is not None and not generate and answer.answered
        links = {g.name: f"/series/{slug}" for slug, g in series_slugs(kb.series()).items()}
        series = [(name, links.get(name)) for name in answer.series]
        return render(
            request, "ask.html", title=q, question=q, answer=answer, stream=stream, series=series
        )

    @router.api_route("/series/{slug}", methods=PAGE, response_class=HTMLResponse)
    def series(request: Request, slug: str) -> HTMLResponse:
        group = series_slugs(kb.series()).get(slug)
        if group is None:
            raise HTTPException(404, f"no learn series {slug!r}")
        return render(request, "series.html", title=group.name, group=group)

    return router


def _place_in_series(doc_id: str, groups: list[Series]) -> dict[str, Any] | None:
    """The series an article belongs to, its position, and its neighbours either side."""
    for slug, group in series_slugs(groups).items():
        ids = [d.doc_id for d in group.articles]
        if doc_id in ids:
            at = ids.index(doc_id)
            window = group.articles[max(0, at - NEIGHBOURS) : at + NEIGHBOURS + 1]
            return {
                "name": group.name,
                "url": f"/series/{slug}",
                "position": at + 1,
                "size": len(ids),
                "neighbours": [
                    {**article_summary(d), "current": d.doc_id == doc_id} for d in window
                ],
                "previous": article_summary(group.articles[at - 1]) if at > 0 else None,
                "next": article_summary(group.articles[at + 1]) if at + 1 < len(ids) else None,
            }
    return None
