"""Addresses and shapes shared by the JSON API and the pages: slugs, plain data, citations."""

from __future__ import annotations

from pathlib import PurePath
from typing import Any
from urllib.parse import quote

from answerdb.answer.series import Series
from answerdb.text import slugify
from answerdb.types import Document


def doc_url(doc_id: str) -> str:
    """The article page of a document: ``/q/`` + the id, each segment percent-encoded
    (reversible); ``.`` and ``..`` segments too, so a browser never resolves them away."""
    return "/q/" + "/".join(_segment(part) for part in doc_id.split("/"))


def series_slugs(groups: list[Series]) -> dict[str, Series]:
    """Slug → series; a repeated slug gets a number so each series has its own address."""
    found: dict[str, Series] = {}
    for group in groups:
        slug, n = _slug(group.name), 1
        while slug in found:
            n += 1
            slug = f"{_slug(group.name)}-{n}"
        found[slug] = group
    return found


def source_label(doc: Document) -> str:
    """Where an article came from, without the server's folders: a URL or a file name."""
    if doc.source.startswith(("http://", "https://")):
        return doc.source
    return PurePath(doc.source).name if doc.source else doc.doc_id


def article_summary(doc: Document) -> dict[str, str]:
    """The few fields a list of articles shows."""
    return {"doc_id": doc.doc_id, "heading": doc.heading or doc.doc_id, "url": doc_url(doc.doc_id)}


def series_summary(slug: str, group: Series) -> dict[str, Any]:
    """A series with its address and articles, for lists and JSON."""
    return {
        "name": group.name,
        "slug": slug,
        "url": f"/series/{slug}",
        "auto": group.auto,
        "terms": group.terms,
        "articles": [article_summary(doc) for doc in group.articles],
    }


def _segment(part: str) -> str:
    if part in (".", ".."):
        return part.replace(".", "%2E")
    return quote(part, safe="")


def _slug(name: str) -> str:
    return slugify(name) or "series"
