"""Facade results as the JSON the API sends (see schemas.py for their shapes): page addresses
added, safe HTML beside the text that pages and scripts show, server paths left out."""

from __future__ import annotations

from typing import Any

from answerdb.server.links import doc_url, source_label
from answerdb.server.render import markdown, passage
from answerdb.types import Answer, Document, Related, plain


def answer_json(answer: Answer) -> dict[str, Any]:
    """An Answer as JSON: each citation with its article's address and the passage as HTML,
    the answer as HTML with its [n] marks linked to the sources."""
    data: dict[str, Any] = plain(answer)
    numbers = [c.number for c in answer.citations]
    data["html"] = str(markdown(answer.text, citations=numbers))
    for citation in data["citations"]:
        citation["url"] = doc_url(citation["hit"]["doc_id"])
        citation["html"] = str(passage(citation["hit"]["text"]))
    data["keep_reading"] = related_json(answer.keep_reading)
    return data


def related_json(items: list[Related]) -> list[dict[str, Any]]:
    """Keep Reading entries with their addresses."""
    return [{**plain(item), "url": doc_url(item.doc_id)} for item in items]


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


def document_page(documents: list[Document], offset: int, limit: int) -> dict[str, Any]:
    """One page of ``documents`` and the address of the next."""
    end = offset + limit
    following = f"/api/documents?offset={end}&limit={limit}" if end < len(documents) else None
    return {
        "total": len(documents),
        "offset": offset,
        "limit": limit,
        "items": [article_json(doc) for doc in documents[offset:end]],
        "next": following,
    }
