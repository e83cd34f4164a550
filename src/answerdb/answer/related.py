"""Keep Reading: the articles nearest to one article, each with a one-line teaser.

Articles are compared whole: each is the mean of its passage vectors with, given the knowledge
base's embedder, its question's vector added (answer/articles.py), centred on the
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
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from markdown_it import MarkdownIt
from markdown_it.token import Token

from answerdb.answer.articles import article_vectors, question_of, unit
from answerdb.embed import Embedder
from answerdb.store.base import Store
from answerdb.text import split_sentences
from answerdb.types import Related

Vectors = npt.NDArray[np.float32]
# Articles this close to the one being read say the same thing: they are duplicates.
DUPLICATE = 0.97
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
# Article vectors kept between profile measurements (a few KB each).
ARTICLES_KEPT = 20_000
# Passages searched for candidates, per article asked for.
CANDIDATES_PER_ITEM = 10


@dataclass(frozen=True)
class Profile:
    """What is usual in a collection: its mean article, and a sample of its articles
    (centred unit vectors, with their ids); ``questions`` when its vectors hold the articles'
    questions."""

    mean: Vectors
    sample: Vectors
    ids: tuple[str, ...]
    made: float
    questions: bool = False
    # Each sampled article's row in ``sample``.
    _rows: dict[str, int] = field(init=False, repr=False, compare=False)
    articles: dict[str, Vectors | None] = field(init=False, repr=False, compare=False)
    usuals: dict[str, tuple[float, float]] = field(init=False, repr=False, compare=False)

    def centred(self, article: Vectors) -> Vectors:
        return unit(article - self.mean)

    def usual(self, centred: Vectors, doc_ids: list[str]) -> tuple[Vectors, Vectors]:
        """The mean and spread of each article's similarities to the sample (itself left
        out); ``centred`` holds one article a row. Kept with the profile, per article."""
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
        kept = np.ones(sims.shape, dtype=bool)
        for column, doc_id in enumerate(doc_ids):
            row = self._rows.get(doc_id)
            if row is not None:
                kept[row, column] = False
        count = np.maximum(kept.sum(axis=0), 1)
        mean = (sims * kept).sum(axis=0) / count
        spread = np.sqrt((((sims - mean) ** 2) * kept).sum(axis=0) / count)
        return mean.astype(np.float32), np.maximum(spread, 1e-6).astype(np.float32)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_rows", {doc_id: i for i, doc_id in enumerate(self.ids)})
        # Article vectors and their usual similarity met since this profile was made (they
        # go stale with it).
        object.__setattr__(self, "articles", {})
        object.__setattr__(self, "usuals", {})


_PROFILES: weakref.WeakKeyDictionary[Store, Profile] = weakref.WeakKeyDictionary()


def related(
    store: Store,
    doc_id: str,
    k: int = 5,
    exclude: Iterable[str] | None = None,
    embedder: Embedder | None = None,
) -> list[Related]:
    """Up to ``k`` other articles, most related first, above RELATED_FLOOR, without
    duplicates of ``doc_id`` nor the articles in ``exclude`` (those an answer cites, say).
    ``embedder``, the knowledge base's model, adds each article's question to its vector."""
    own_doc = store.document(doc_id)
    question = question_of(own_doc.heading, own_doc.metadata) if own_doc else ""
    own = article_vectors(store, [(doc_id, question)], embedder)[0]
    if own is None or k <= 0:
        return []
    reader = _Reader(doc_id, own, _series(own_doc.metadata) if own_doc else "")
    profile = collection_profile(store, embedder)
    scored = _scored(store, profile, reader, {doc_id, *(exclude or ())}, k, embedder)
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


def collection_profile(store: Store, embedder: Embedder | None = None) -> Profile | None:
    """The store's profile (with the articles' questions given ``embedder``), measured again
    when it is PROFILE_SECONDS old; None for a collection too small to have one."""
    now = time.monotonic()
    cached = _PROFILES.get(store)
    fresh = cached is not None and now - cached.made < PROFILE_SECONDS
    if cached is not None and fresh and cached.questions == (embedder is not None):
        return cached if len(cached.ids) >= PROFILE_MIN else None
    profile = measure_profile(store, now, embedder)
    _PROFILES[store] = profile
    return profile if len(profile.ids) >= PROFILE_MIN else None


def measure_profile(store: Store, made: float = 0.0, embedder: Embedder | None = None) -> Profile:
    """The profile of PROFILE_ARTICLES articles spread evenly over the collection (with
    their questions given ``embedder``)."""
    docs = store.documents()
    step = max(len(docs) / PROFILE_ARTICLES, 1.0)
    picked = [docs[int(i * step)] for i in range(min(len(docs), PROFILE_ARTICLES))]
    asked = [(d.doc_id, question_of(d.heading, d.metadata)) for d in picked]
    pairs = zip([i for i, _ in asked], article_vectors(store, asked, embedder), strict=True)
    kept = [(i, v) for i, v in pairs if v is not None]
    questions = embedder is not None
    if not kept:
        empty = np.zeros((0, 1), np.float32)
        return Profile(np.zeros(1, np.float32), empty, (), made, questions)
    vectors = np.stack([v for _, v in kept])
    mean: Vectors = vectors.mean(axis=0).astype(np.float32)
    sample = np.stack([unit(v - mean) for v in vectors])
    return Profile(mean, sample, tuple(i for i, _ in kept), made, questions)


@dataclass(frozen=True)
class _Reader:
    """The article being read: its id, vector and front-matter series."""

    doc_id: str
    vector: Vectors
    series: str


def _scored(
    store: Store,
    profile: Profile | None,
    reader: _Reader,
    skip: set[str],
    k: int,
    embedder: Embedder | None,
) -> list[tuple[float, str, str]]:
    """(relatedness, doc id, heading) of the candidates over the floor, best first."""
    query = profile.centred(reader.vector) if profile else reader.vector
    candidates: dict[str, tuple[str, str, str]] = {}
    for hit in store.vector_search(query, max(k * CANDIDATES_PER_ITEM, 50)):
        if hit.doc_id not in skip:
            question = question_of(hit.heading, hit.metadata)
            candidates.setdefault(hit.doc_id, (hit.heading, _series(hit.metadata), question))
    asked = [(o, candidates[o][2]) for o in candidates]
    others = list(zip(candidates, _articles(store, profile, asked, embedder), strict=True))
    kept = [(o, v) for o, v in others if v is not None and float(reader.vector @ v) < DUPLICATE]
    if not kept:
        return []
    vectors = np.stack([v for _, v in kept])
    same = [reader.series != "" and candidates[o][1] == reader.series for o, _ in kept]
    bonus = SERIES_BONUS * np.array(same, dtype=np.float32)
    score, least = _relatedness(profile, reader, [o for o, _ in kept], vectors)
    score, least = score + bonus, least + bonus
    listed = [
        (float(score[i]), other, candidates[other][0])
        for i, (other, _) in enumerate(kept)
        if profile is None or least[i] >= RELATED_FLOOR
    ]
    return sorted(listed, key=lambda item: -item[0])


def _articles(
    store: Store, profile: Profile | None, asked: list[tuple[str, str]], embedder: Embedder | None
) -> list[Vectors | None]:
    """The vectors of (doc id, question) pairs, kept with the profile: read once per article
    while it lasts."""
    if profile is None:
        return article_vectors(store, asked, embedder)
    known = profile.articles
    todo = [pair for pair in asked if pair[0] not in known]
    if todo:
        if len(known) + len(todo) > ARTICLES_KEPT:
            known.clear()
            profile.usuals.clear()
            todo = asked
        for (doc_id, _), vector in zip(todo, article_vectors(store, todo, embedder), strict=True):
            known[doc_id] = vector
    return [known.get(doc_id) for doc_id, _ in asked]


def _series(metadata: dict[str, Any]) -> str:
    return str(metadata.get("series", "")).strip()


def _relatedness(
    profile: Profile | None, reader: _Reader, ids: list[str], vectors: Vectors
) -> tuple[Vectors, Vectors]:
    """Each pair's similarity in standard deviations above what is usual for each article:
    their mean and the lesser; plain cosine (twice) without a profile."""
    if profile is None:
        cosine = vectors @ reader.vector
        return cosine, cosine
    mine = profile.centred(reader.vector)
    theirs = np.stack([profile.centred(v) for v in vectors])
    similarity = theirs @ mine
    usual_me, spread_me = profile.usual(mine[None, :], [reader.doc_id])
    usual_them, spread_them = profile.usual(theirs, ids)
    mine_side = (similarity - usual_me[0]) / spread_me[0]
    their_side = (similarity - usual_them) / spread_them
    return (mine_side + their_side) / 2, np.minimum(mine_side, their_side)


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
    """The first sentence of an answer's prose, without Markdown syntax, cut at a word
    boundary if it is long."""
    # The opening is enough to find the first sentence: a long article is not split whole.
    opening = _prose(text[: TEASER_CHARS * 4])
    sentences = [s for s in split_sentences(opening) if s.strip() != heading.strip()]
    first = sentences[0] if sentences else " ".join(text.split())
    if len(first) <= TEASER_CHARS:
        return first
    cut = first[:TEASER_CHARS].rsplit(" ", 1)[0]
    return cut.rstrip(",;:") + "…"


def _prose(text: str) -> str:
    """The words of ``text``'s paragraphs and list items, a line each: Markdown syntax, headings,
    code, tables and HTML left out."""
    lines: list[str] = []
    skipped = 0
    for token in _MD.parse(text):
        skipped += _SKIPPED.get(token.type, 0)
        if token.type == "inline" and not skipped:
            lines.append("".join(_words(token.children or [])))
    return "\n".join(lines)


def _words(children: list[Token]) -> Iterator[str]:
    for child in children:
        if child.type in ("text", "code_inline"):
            yield child.content
        elif child.type in ("softbreak", "hardbreak"):
            yield "\n"
        elif child.type == "image":
            yield from _words(child.children or [])


# html: raw HTML becomes tokens of its own, and is left out.
_MD = MarkdownIt("commonmark", {"html": True}).enable("table")
_SKIPPED = {"heading_open": 1, "heading_close": -1, "table_open": 1, "table_close": -1}


def _normal(text: str) -> str:
    return re.sub(r"\W+", " ", text.lower()).strip()
