"""Keep Reading: the articles nearest to one article, each with a one-line teaser."""

from __future__ import annotations

import re

import numpy as np

from answerdb.store.base import Store
from answerdb.text import split_sentences
from answerdb.types import Related

# Articles this close to the one being read say the same thing: they are duplicates.
DUPLICATE_SIMILARITY = 0.97
TEASER_CHARS = 160


def related(store: Store, doc_id: str, k: int = 5) -> list[Related]:
    """Up to ``k`` other articles, nearest first, without duplicates of ``doc_id``."""
    vectors = store.passage_vectors(doc_id)
    if len(vectors) == 0:
        return []
    centre = vectors.mean(axis=0)
    centre /= max(float(np.linalg.norm(centre)), 1e-12)
    own = store.document(doc_id)
    seen_questions = {_normal(own.heading)} if own else set()
    seen_docs = {doc_id}
    found: list[Related] = []
    for hit in store.vector_search(centre, k * 8):
        key = _normal(hit.heading)
        duplicate = hit.score >= DUPLICATE_SIMILARITY or (key and key in seen_questions)
        if hit.doc_id in seen_docs or duplicate:
            continue
        seen_docs.add(hit.doc_id)
        seen_questions.add(key)
        found.append(_entry(store, hit.doc_id, hit.score))
        if len(found) == k:
            break
    return found


def _entry(store: Store, doc_id: str, score: float) -> Related:
    doc = store.document(doc_id)
    if doc is None:  # deleted since the search
        return Related(doc_id=doc_id, question=doc_id, teaser="", score=score)
    return Related(
        doc_id=doc_id,
        question=doc.heading or doc_id,
        teaser=teaser(doc.text, doc.heading),
        score=score,
        series=str(doc.metadata.get("series", "")),
    )


def teaser(text: str, heading: str = "") -> str:
    """The first sentence of an answer, cut at a word boundary if it is long."""
    sentences = [s for s in split_sentences(text) if s.strip() != heading.strip()]
    first = sentences[0] if sentences else text.strip()
    if len(first) <= TEASER_CHARS:
        return first
    cut = first[:TEASER_CHARS].rsplit(" ", 1)[0]
    return cut.rstrip(",;:") + "…"


def _normal(text: str) -> str:
    return re.sub(r"\W+", " ", text.lower()).strip()
