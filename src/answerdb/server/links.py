"""Addresses and shapes shared by the JSON API and the pages: slugs, plain data, citations."""

from __future__ import annotations

import re
from collections.abc import Container
from pathlib import PurePath
from typing import Any
from urllib.parse import quote

from answerdb.answer.series import Series
from answerdb.text import CITATION, slugify
from answerdb.types import Document


def doc_url(doc_id: str) -> str:
    """The article page of a document: ``/q/`` + the id, percent-encoded (reversible)."""
    return "/q/" + quote(doc_id, safe="/")


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


def segments(text: str, known: Container[int]) -> list[tuple[str, int | None]]:
    """Answer text cut into plain runs and ``[n]`` marks, so a template can link the marks
    to their sources while escaping the text."""
    parts: list[tuple[str, int | None]] = []
    cursor = 0
    for match in CITATION.finditer(text):
        number = int(match.group(1))
        if number not in known:
            continue
        parts.append((text[cursor : match.start()], None))
        parts.append((match.group(0), number))
        cursor = match.end()
    parts.append((text[cursor:], None))
    return [p for p in parts if p[0]]


def paragraphs(text: str) -> list[str]:
    """The paragraphs of an article's text, one per line or block."""
    return [block.strip() for block in re.split(r"\n+", text) if block.strip()]


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


def _slug(name: str) -> str:
    return slugify(name) or "series"
