"""Articles for Keep Reading: the mean of an article's passages, and its question, compared
each against what is usual in the collection.

An FAQ entry's question says in a few words what its answer is about, and the passages do not
always hold it (a JSONL record may keep it in metadata only, a Markdown page's first passage
may not repeat its title). Its vector comes from the static model (``minilm-static-256``,
microseconds a question), not the knowledge base's own: the first Keep Reading of a process
needs the questions of a few hundred articles, and the transformer takes seconds for them. The
static vectors are of another space, so the two are compared apart (a :class:`Side` each) and
their z-scores added (answer/related.py). Measured on faq-python and debian-faq (their
sections, removed before ingest, used only to score): docs/serving.md.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from answerdb.embed import Embedder
from answerdb.embed.kept import KeptVectors, kept_vectors
from answerdb.store.base import Store
from answerdb.types import Vectors

# Question vectors kept per store (1 KB each); they stay valid while the model does.
QUESTIONS_KEPT = 20_000

_QUESTIONS: weakref.WeakKeyDictionary[Store, KeptVectors] = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class Article:
    """An article's unit vectors: the mean of its passages (the knowledge base's model), and
    its question's (the static model; None without a question or a model for it)."""

    body: Vectors
    question: Vectors | None = None


@dataclass(frozen=True)
class Side:
    """One way of comparing articles, by their passages or by their questions: the
    collection's mean vector and a sample of its articles (centred unit vectors, one a row,
    ``rows`` naming each row's article; a zero row for an article it does not hold)."""

    mean: Vectors
    sample: Vectors
    rows: dict[str, int]
    # Each article's usual similarity (mean, spread) met since the side was measured.
    usuals: dict[str, tuple[float, float]] = field(default_factory=dict, compare=False)

    def centred(self, vector: Vectors) -> Vectors:
        return unit(vector - self.mean)

    def centred_rows(self, vectors: Vectors) -> Vectors:
        """``centred`` for each row of ``vectors``."""
        moved = vectors - self.mean
        norms = np.maximum(np.linalg.norm(moved, axis=1, keepdims=True), 1e-12)
        rows: Vectors = (moved / norms).astype(np.float32)
        return rows

    def usual(self, centred: Vectors, doc_ids: list[str]) -> tuple[Vectors, Vectors]:
        """The mean and spread of each article's similarities to the sample (itself and
        the zero rows left out); ``centred`` holds one article a row."""
        known = self.usuals
        todo = [i for i, doc_id in enumerate(doc_ids) if doc_id not in known]
        if todo:
            means, spreads = self._measure(centred[todo], [doc_ids[i] for i in todo])
            for j, i in enumerate(todo):
                known[doc_ids[i]] = (float(means[j]), float(spreads[j]))
        pairs = np.array([known[doc_id] for doc_id in doc_ids], dtype=np.float32)
        return pairs[:, 0], pairs[:, 1]

    def _measure(self, centred: Vectors, doc_ids: list[str]) -> tuple[Vectors, Vectors]:
        sims = self.sample @ centred.T
        held = np.abs(self.sample).sum(axis=1) > 0
        kept = np.repeat(held[:, None], len(doc_ids), axis=1)
        for column, doc_id in enumerate(doc_ids):
            row = self.rows.get(doc_id)
            if row is not None:
                kept[row, column] = False
        count = np.maximum(kept.sum(axis=0), 1)
        mean = (sims * kept).sum(axis=0) / count
        spread = np.sqrt((((sims - mean) ** 2) * kept).sum(axis=0) / count)
        return mean.astype(np.float32), np.maximum(spread, 1e-6).astype(np.float32)


def measure_side(ids: list[str], vectors: list[Vectors | None]) -> Side | None:
    """The side of a sample: ``vectors`` one an article of ``ids``, None where it has none;
    None when none has one."""
    held = [v for v in vectors if v is not None]
    if not held:
        return None
    mean: Vectors = np.stack(held).mean(axis=0).astype(np.float32)
    zero = np.zeros_like(mean)
    sample = np.stack([zero if v is None else unit(v - mean) for v in vectors])
    return Side(mean, sample, {doc_id: i for i, doc_id in enumerate(ids)})


def article_vector(passages: Vectors) -> Vectors | None:
    """An article's vector: the unit mean of its passage vectors (None without passages)."""
    if len(passages) == 0:
        return None
    return unit(passages.mean(axis=0))


def question_of(heading: str, metadata: Mapping[str, Any]) -> str:
    """The question an article answers: its heading, else the ``heading`` its metadata names
    (as a BEIR-style record's may)."""
    return (heading or str(metadata.get("heading", ""))).strip()


def read_articles(
    store: Store, articles: list[tuple[str, str]], questions: Embedder | None
) -> list[Article | None]:
    """Each (doc id, question)'s :class:`Article`, its question embedded with ``questions``
    when it has one and the model is given; None for an article without passages."""
    bodies = [article_vector(store.passage_vectors(doc_id)) for doc_id, _ in articles]
    asked = [q for (_, q), body in zip(articles, bodies, strict=True) if q and body is not None]
    vectors = _question_vectors(store, questions, asked) if questions else {}
    return [
        None if body is None else Article(body, vectors.get(q) if q else None)
        for (_, q), body in zip(articles, bodies, strict=True)
    ]


def _question_vectors(store: Store, embedder: Embedder, texts: list[str]) -> dict[str, Vectors]:
    """The unit vector of each question, embedded once per store (those missing in one batch)."""
    kept = _QUESTIONS.setdefault(store, {})
    return kept_vectors(kept, embedder, texts, QUESTIONS_KEPT, _question_vector)


def _question_vector(vector: Vectors) -> Vectors | None:
    """A question's unit vector; None when no token of it is known (nothing to compare)."""
    return unit(np.asarray(vector, np.float32)) if np.any(vector) else None


def unit(vector: Any) -> Vectors:
    """``vector`` scaled to length 1 (a zero vector stays zero)."""
    scaled: Vectors = (vector / max(float(np.linalg.norm(vector)), 1e-12)).astype(np.float32)
    return scaled
