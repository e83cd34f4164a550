"""Article vectors for Keep Reading: the mean of an article's passages, with its question.

An FAQ entry's question says in a few words what its answer is about, and the passages do not
always hold it (a JSONL record may keep it in metadata only, a Markdown page's first passage
may not repeat its title). Given the knowledge base's embedder, an article's vector is the sum
of its passages' unit mean and its question's unit vector, the two weighing alike; without one
it is the passages' mean alone. Measured on faq-python and debian-faq (their sections, removed
before ingest, used only to score): the question lifts same-section precision@5 from 0.389 to
0.463 and from 0.368 to 0.431 (docs/serving.md).
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from typing import Any

import numpy as np

from answerdb.embed import Embedder
from answerdb.store.base import Store
from answerdb.types import Vectors

# Question vectors kept per store (a few KB each); they stay valid while the model does.
QUESTIONS_KEPT = 20_000

_QUESTIONS: weakref.WeakKeyDictionary[Store, dict[tuple[str, str], Vectors]] = (
    weakref.WeakKeyDictionary()
)


def article_vector(passages: Vectors) -> Vectors | None:
    """An article's vector: the unit mean of its passage vectors (None without passages)."""
    if len(passages) == 0:
        return None
    return unit(passages.mean(axis=0))


def question_of(heading: str, metadata: Mapping[str, Any]) -> str:
    """The question an article answers: its heading, else the ``heading`` its metadata names
    (as a BEIR-style record's may)."""
    return (heading or str(metadata.get("heading", ""))).strip()


def article_vectors(
    store: Store, articles: list[tuple[str, str]], embedder: Embedder | None
) -> list[Vectors | None]:
    """Each (doc id, question)'s vector, unit length: its passages' mean, plus its question's
    vector when it has one and ``embedder`` is given; None for an article without passages."""
    bodies = [article_vector(store.passage_vectors(doc_id)) for doc_id, _ in articles]
    if embedder is None:
        return bodies
    asked = [q for (_, q), body in zip(articles, bodies, strict=True) if q and body is not None]
    questions = _question_vectors(store, embedder, asked)
    return [
        body if body is None or not q else unit(body + questions[q])
        for (_, q), body in zip(articles, bodies, strict=True)
    ]


def _question_vectors(store: Store, embedder: Embedder, texts: list[str]) -> dict[str, Vectors]:
    """The unit vector of each question, embedded once per store (those missing in one batch)."""
    kept = _QUESTIONS.setdefault(store, {})
    found = {t: kept[(embedder.name, t)] for t in texts if (embedder.name, t) in kept}
    missing = list(dict.fromkeys(t for t in texts if t not in found))
    if missing:
        if len(kept) + len(missing) > QUESTIONS_KEPT:
            kept.clear()
        for text, vector in zip(missing, embedder.embed(missing), strict=True):
            found[text] = kept[(embedder.name, text)] = unit(np.asarray(vector, np.float32))
    return found


def unit(vector: Any) -> Vectors:
    """``vector`` scaled to length 1 (a zero vector stays zero)."""
    scaled: Vectors = (vector / max(float(np.linalg.norm(vector)), 1e-12)).astype(np.float32)
    return scaled
