"""Keep Reading: the articles nearest to one article, each with a one-line teaser.

Articles are compared whole: each is the mean of its passage vectors, centred on the
collection's mean article (sentence embeddings share one direction that makes every pair look
alike). A pair counts by how unusual its similarity is for each of the two articles: the
z-score among that article's similarities to a sample of the collection. Pairs rank by the
mean of the two (an article close to everything, a hub, counts for less), and a pair is listed
only when both reach RELATED_FLOOR: Keep Reading may list fewer than ``k``, never an article
picked by chance (an article on a topic of its own stands out from its own neighbours, not
theirs). Articles of the reader's series (as front matter names it) count SERIES_BONUS closer.
"""

from __future__ import annotations

import re
import time
import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from answerdb.store.base import Store
from answerdb.text import split_sentences
from answerdb.types import Related

Vectors = npt.NDArray[np.float32]
# Articles this close to the one being read say the same thing: they are duplicates.
DUPLICATE_SIMILARITY = 0.97
TEASER_CHARS = 160
# Calibrated on labelled collections (bench/reading.py, the demo's series and faq-python's
# sections): at 1.5 to 2 standard deviations above what is usual for both articles, a pair is
# about three times as likely to come from one topic as a random pair is (2.8 on faq-python,
# 5.6 on the demo; how often it does depends on the topics' sizes, this ratio much less).
RELATED_FLOOR = 1.5
# Articles their author put in one series (front matter) belong together: that much closer.
SERIES_BONUS = 1.0
# What is usual is measured on this many articles, spread over the collection...
PROFILE_ARTICLES = 512
# ...and measured again after this long (a mean over hundreds of articles moves slowly).
PROFILE_SECONDS = 60.0
# Under this many articles nothing is usual: every other article is listed, nearest first.
PROFILE_MIN = 8
# Passages searched for candidates, per article asked for.
CANDIDATES_PER_ITEM = 10


@dataclass(frozen=True)
class Profile:
    """What is usual in a collection: its mean article, and a sample of its articles
    (centred unit vectors, with their ids)."""

    mean: Vectors
    sample: Vectors
    ids: tuple[str, ...]
    made: float

    def centred(self, article: Vectors) -> Vectors:
        return _unit(article - self.mean)

    def usual(self, centred: Vectors, doc_id: str) -> tuple[float, float]:
        """The mean and spread of an article's similarities to the sample (itself left out)."""
        sims = self.sample @ centred
        sims = sims[[i != doc_id for i in self.ids]]
        return float(sims.mean()), max(float(sims.std()), 1e-6)


_PROFILES: weakref.WeakKeyDictionary[Store, Profile] = weakref.WeakKeyDictionary()


def related(
    store: Store, doc_id: str, k: int = 5, exclude: Iterable[str] | None = None
) -> list[Related]:
    """Up to ``k`` other articles, most related first, above RELATED_FLOOR, without
    duplicates of ``doc_id`` nor the articles in ``exclude`` (those an answer cites, say)."""
    own = article_vector(store.passage_vectors(doc_id))
    if own is None or k <= 0:
        return []
    own_doc = store.document(doc_id)
    reader = _Reader(doc_id, own, _series(own_doc.metadata) if own_doc else "")
    scored = _scored(store, collection_profile(store), reader, {doc_id, *(exclude or ())}, k)
    seen = {_normal(own_doc.heading)} if own_doc else set()
    found: list[Related] = []
    for score, other, heading in scored:
        key = _normal(heading)
        if key and key in seen:
            continue  # the same question asked again
        seen.add(key)
        found.append(_entry(store, other, score))
        if len(found) == k:
            break
    return found


def collection_profile(store: Store) -> Profile | None:
    """The store's profile, measured again when it is PROFILE_SECONDS old; None for a
    collection too small to have one."""
    now = time.monotonic()
    cached = _PROFILES.get(store)
    if cached is not None and now - cached.made < PROFILE_SECONDS:
        return cached if len(cached.ids) >= PROFILE_MIN else None
    profile = measure_profile(store, now)
    _PROFILES[store] = profile
    return profile if len(profile.ids) >= PROFILE_MIN else None


def measure_profile(store: Store, made: float = 0.0) -> Profile:
    """The profile of PROFILE_ARTICLES articles spread evenly over the collection."""
    docs = store.documents()
    step = max(len(docs) / PROFILE_ARTICLES, 1.0)
    picked = [docs[int(i * step)].doc_id for i in range(min(len(docs), PROFILE_ARTICLES))]
    pairs = [(i, article_vector(store.passage_vectors(i))) for i in picked]
    kept = [(i, v) for i, v in pairs if v is not None]
    if not kept:
        return Profile(np.zeros(1, np.float32), np.zeros((0, 1), np.float32), (), made)
    vectors = np.stack([v for _, v in kept])
    mean: Vectors = vectors.mean(axis=0).astype(np.float32)
    sample = np.stack([_unit(v - mean) for v in vectors])
    return Profile(mean, sample, tuple(i for i, _ in kept), made)


def article_vector(passages: Vectors) -> Vectors | None:
    """An article's vector: the unit mean of its passage vectors (None without passages)."""
    if len(passages) == 0:
        return None
    return _unit(passages.mean(axis=0))


@dataclass(frozen=True)
class _Reader:
    """The article being read: its id, vector and front-matter series."""

    doc_id: str
    vector: Vectors
    series: str


def _scored(
    store: Store, profile: Profile | None, reader: _Reader, skip: set[str], k: int
) -> list[tuple[float, str, str]]:
    """(relatedness, doc id, heading) of the candidates over the floor, best first."""
    query = profile.centred(reader.vector) if profile else reader.vector
    candidates: dict[str, tuple[str, str]] = {}
    for hit in store.vector_search(query, max(k * CANDIDATES_PER_ITEM, 50)):
        if hit.doc_id not in skip:
            candidates.setdefault(hit.doc_id, (hit.heading, _series(hit.metadata)))
    scored: list[tuple[float, str, str]] = []
    for other, (heading, series) in candidates.items():
        vector = article_vector(store.passage_vectors(other))
        if vector is None or float(reader.vector @ vector) >= DUPLICATE_SIMILARITY:
            continue
        bonus = SERIES_BONUS if reader.series and series == reader.series else 0.0
        score, least = _relatedness(profile, reader.doc_id, reader.vector, other, vector)
        if profile is None or least + bonus >= RELATED_FLOOR:
            scored.append((score + bonus, other, heading))
    scored.sort(key=lambda item: -item[0])
    return scored


def _series(metadata: dict[str, Any]) -> str:
    return str(metadata.get("series", "")).strip()


def _relatedness(
    profile: Profile | None, first_id: str, first: Vectors, second_id: str, second: Vectors
) -> tuple[float, float]:
    """The pair's similarity in standard deviations above what is usual for each article:
    their mean and the lesser; plain cosine (twice) without a profile."""
    if profile is None:
        cosine = float(first @ second)
        return cosine, cosine
    a, b = profile.centred(first), profile.centred(second)
    similarity = float(a @ b)
    usual_a, spread_a = profile.usual(a, first_id)
    usual_b, spread_b = profile.usual(b, second_id)
    sides = ((similarity - usual_a) / spread_a, (similarity - usual_b) / spread_b)
    return sum(sides) / 2, min(sides)


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


def _unit(vector: npt.NDArray[Any]) -> Vectors:
    unit: Vectors = (vector / max(float(np.linalg.norm(vector)), 1e-12)).astype(np.float32)
    return unit


def _normal(text: str) -> str:
    return re.sub(r"\W+", " ", text.lower()).strip()
