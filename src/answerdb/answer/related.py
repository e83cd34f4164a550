"""Keep Reading: the articles nearest to one article, each with a one-line teaser.

Articles are compared whole, on two sides (answer/articles.py): the mean of their passage
vectors, and, given the static model, their questions' vectors; each side centred on the
collection's mean (sentence embeddings share one direction that makes every pair look alike).
A pair counts by how unusual its similarity is for each of the two articles: the z-score among
that article's similarities to a sample of the collection, the question's z-score added at
QUESTION_WEIGHT when both have a question. Pairs rank by the mean of the two articles' (an
article close to everything, a hub, counts for less), and a pair is listed only when both
reach RELATED_FLOOR: Keep Reading may list fewer than ``k``, never an article picked by chance
(an article on a topic of its own stands out from its own neighbours, not theirs). Articles of
the reader's series (as front matter names it) count SERIES_BONUS closer, and those placed near
the reader in its source count as close as such neighbours measure in the collection
(answer/placement.py).
"""

from __future__ import annotations

import math
import re
import time
import weakref
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt
from markdown_it import MarkdownIt
from markdown_it.token import Token

from answerdb.answer import placement
from answerdb.answer.articles import Article, Side, measure_side, question_of, read_articles
from answerdb.embed import Embedder
from answerdb.store.base import Store
from answerdb.text import split_sentences
from answerdb.types import Document, Related

Vectors = npt.NDArray[np.float32]
# Articles this close to the one being read say the same thing: they are duplicates.
DUPLICATE = 0.97
TEASER_CHARS = 160
# Calibrated on labelled collections (bench/reading.py, the demo's series and faq-python's
# sections): at 1.5 to 2 standard deviations above what is usual for both articles, a pair is
# about three times as likely to come from one topic as a random pair is (2.8 on faq-python,
# 5.6 on the demo; how often it does depends on the topics' sizes, this ratio much less).
RELATED_FLOOR = 1.5
# The questions' z-score counts this much of the passages' (chosen on faq-python and
# debian-faq: 1.0 counts the static model's questions too much); the sum is divided by
# sqrt(1 + weight), about its spread for sides as correlated as these, so that the floor
# keeps its meaning.
QUESTION_WEIGHT = 0.5
# Articles their author put in one series (front matter) belong together: that much closer.
SERIES_BONUS = 1.0
# What is usual is measured on this many articles, spread over the collection...
PROFILE_ARTICLES = 512
# ...and measured again after this long (a mean over hundreds of articles moves slowly).
PROFILE_SECONDS = 60.0
# Under this many articles nothing is usual: every other article is listed, nearest first.
PROFILE_MIN = 8
# Articles kept between profile measurements (a few KB each).
ARTICLES_KEPT = 20_000
# Passages searched for candidates, per article asked for.
CANDIDATES_PER_ITEM = 10


@dataclass(frozen=True)
class Profile:
    """What is usual in a collection: its articles' passages (``body``) and, when measured
    with a model for them (``questions``) and any has one, their questions; ``ids`` the
    sampled articles."""

    body: Side
    question: Side | None
    ids: tuple[str, ...]
    made: float
    questions: bool = False
    # The score that articles 1, 2, … places from the reader in its source earn for their
    # place (answer/placement.py); empty where the collection's order says nothing.
    placement: tuple[float, ...] = ()
    # Articles met since this profile was made (they go stale with it).
    articles: dict[str, Article | None] = field(default_factory=dict, repr=False, compare=False)


_PROFILES: weakref.WeakKeyDictionary[Store, Profile] = weakref.WeakKeyDictionary()


def related(
    store: Store,
    doc_id: str,
    k: int = 5,
    exclude: Iterable[str] | None = None,
    questions: Embedder | None = None,
) -> list[Related]:
    """Up to ``k`` other articles, most related first, above RELATED_FLOOR, without
    duplicates of ``doc_id`` nor the articles in ``exclude`` (those an answer cites, say).
    ``questions``, the static model, compares the articles' questions too."""
    own_doc = store.document(doc_id)
    question = question_of(own_doc.heading, own_doc.metadata) if own_doc else ""
    own = read_articles(store, [(doc_id, question)], questions)[0]
    if own is None or k <= 0:
        return []
    reader = _Reader(doc_id, own, _series(own_doc.metadata) if own_doc else "")
    profile = collection_profile(store, questions)
    scored = _scored(store, profile, reader, {doc_id, *(exclude or ())}, k, questions)
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


def collection_profile(store: Store, questions: Embedder | None = None) -> Profile | None:
    """The store's profile (with the articles' questions given ``questions``), measured again
    when it is PROFILE_SECONDS old; None for a collection too small to have one."""
    now = time.monotonic()
    cached = _PROFILES.get(store)
    fresh = cached is not None and now - cached.made < PROFILE_SECONDS
    if cached is not None and fresh and cached.questions == (questions is not None):
        return cached if len(cached.ids) >= PROFILE_MIN else None
    profile = measure_profile(store, now, questions)
    _PROFILES[store] = profile
    return profile if len(profile.ids) >= PROFILE_MIN else None


def measure_profile(store: Store, made: float = 0.0, questions: Embedder | None = None) -> Profile:
    """The profile of PROFILE_ARTICLES articles spread evenly over the collection (with
    their questions given ``questions``)."""
    docs = store.documents()
    step = max(len(docs) / PROFILE_ARTICLES, 1.0)
    picked = [docs[int(i * step)] for i in range(min(len(docs), PROFILE_ARTICLES))]
    asked = [(d.doc_id, question_of(d.heading, d.metadata)) for d in picked]
    pairs = zip([i for i, _ in asked], read_articles(store, asked, questions), strict=True)
    kept = [(i, a) for i, a in pairs if a is not None]
    ids = [i for i, _ in kept]
    body = measure_side(ids, [a.body for _, a in kept])
    if body is None:
        empty = Side(np.zeros(1, np.float32), np.zeros((0, 1), np.float32), {})
        return Profile(empty, None, (), made, questions is not None)
    question = measure_side(ids, [a.question for _, a in kept])
    profile = Profile(body, question, tuple(ids), made, questions is not None)
    profile.articles.update(kept)
    if len(ids) < PROFILE_MIN:
        return profile
    return replace(profile, placement=_placement(store, profile, docs, questions))


def _placement(
    store: Store, profile: Profile, docs: list[Document], questions: Embedder | None
) -> tuple[float, ...]:
    """``profile``'s placement, measured on ``docs`` (the collection, oldest first)."""

    def scores(reader: Document, others: list[Document]) -> list[float]:
        asked = [(d.doc_id, question_of(d.heading, d.metadata)) for d in [reader, *others]]
        own, *found = _articles(store, profile, asked, questions)
        pairs = [(d.doc_id, a) for d, a in zip(others, found, strict=True) if a is not None]
        if own is None or len(pairs) < len(others):
            return []  # an article without passages: its run's distances are not measured
        score, _ = _relatedness(profile, _Reader(reader.doc_id, own, ""), pairs)
        return [float(v) for v in score]

    return placement.measure(docs, scores)


@dataclass(frozen=True)
class _Reader:
    """The article being read: its id, vectors and front-matter series."""

    doc_id: str
    article: Article
    series: str


def _scored(
    store: Store,
    profile: Profile | None,
    reader: _Reader,
    skip: set[str],
    k: int,
    questions: Embedder | None,
) -> list[tuple[float, str, str]]:
    """(relatedness, doc id, heading) of the candidates over the floor, best first."""
    body = reader.article.body
    query = profile.body.centred(body) if profile else body
    candidates: dict[str, tuple[str, str, str]] = {}
    for hit in store.vector_search(query, max(k * CANDIDATES_PER_ITEM, 50)):
        if hit.doc_id not in skip:
            question = question_of(hit.heading, hit.metadata)
            candidates.setdefault(hit.doc_id, (hit.heading, _series(hit.metadata), question))
    places = _places(store, profile, reader.doc_id, skip)
    for _, doc in places.values():
        candidates.setdefault(
            doc.doc_id, (doc.heading, _series(doc.metadata), question_of(doc.heading, doc.metadata))
        )
    asked = [(o, candidates[o][2]) for o in candidates]
    others = zip(candidates, _articles(store, profile, asked, questions), strict=True)
    kept = [(o, a) for o, a in others if a is not None and float(body @ a.body) < DUPLICATE]
    if not kept:
        return []
    same = [reader.series != "" and candidates[o][1] == reader.series for o, _ in kept]
    bonus = SERIES_BONUS * np.array(same, dtype=np.float32)
    if profile is not None and places:
        bonus += [profile.placement[abs(places[o][0]) - 1] if o in places else 0.0 for o, _ in kept]
    score, least = _relatedness(profile, reader, kept)
    score, least = score + bonus, least + bonus
    listed = [
        (float(score[i]), other, candidates[other][0])
        for i, (other, _) in enumerate(kept)
        if profile is None or least[i] >= RELATED_FLOOR
    ]
    return sorted(listed, key=lambda item: -item[0])


def _places(
    store: Store, profile: Profile | None, doc_id: str, skip: set[str]
) -> dict[str, tuple[int, Document]]:
    """The articles near ``doc_id`` in its source that its placement counts, by id."""
    if profile is None or not profile.placement:
        return {}
    near = store.neighbours(doc_id, len(profile.placement))
    return {doc.doc_id: (place, doc) for place, doc in near if doc.doc_id not in skip}


def _articles(
    store: Store, profile: Profile | None, asked: list[tuple[str, str]], questions: Embedder | None
) -> list[Article | None]:
    """The articles of (doc id, question) pairs, kept with the profile: read once per article
    while it lasts."""
    if profile is None:
        return read_articles(store, asked, questions)
    known = profile.articles
    todo = [pair for pair in asked if pair[0] not in known]
    if todo:
        if len(known) + len(todo) > ARTICLES_KEPT:
            known.clear()
            profile.body.usuals.clear()
            if profile.question is not None:
                profile.question.usuals.clear()
            todo = asked
        for (doc_id, _), article in zip(todo, read_articles(store, todo, questions), strict=True):
            known[doc_id] = article
    return [known.get(doc_id) for doc_id, _ in asked]


def _series(metadata: dict[str, Any]) -> str:
    return str(metadata.get("series", "")).strip()


def _relatedness(
    profile: Profile | None, reader: _Reader, others: list[tuple[str, Article]]
) -> tuple[Vectors, Vectors]:
    """Each pair's similarity in standard deviations above what is usual for each article:
    their mean and the lesser; plain cosine of the passages (twice) without a profile."""
    bodies = np.stack([a.body for _, a in others])
    if profile is None:
        cosine = bodies @ reader.article.body
        return cosine, cosine
    ids = [o for o, _ in others]
    mine, theirs = _z(profile.body, reader.doc_id, reader.article.body, ids, bodies)
    asked = [(i, o, a.question) for i, (o, a) in enumerate(others) if a.question is not None]
    own = reader.article.question
    if profile.question is not None and own is not None and asked:
        rows, asked_ids = [i for i, _, _ in asked], [o for _, o, _ in asked]
        vectors = np.stack([q for _, _, q in asked])
        q_mine, q_theirs = _z(profile.question, reader.doc_id, own, asked_ids, vectors)
        scale = np.float32(math.sqrt(1 + QUESTION_WEIGHT))
        mine[rows] = (mine[rows] + QUESTION_WEIGHT * q_mine) / scale
        theirs[rows] = (theirs[rows] + QUESTION_WEIGHT * q_theirs) / scale
    mean: Vectors = ((mine + theirs) / 2).astype(np.float32)
    return mean, np.minimum(mine, theirs)


def _z(
    side: Side, doc_id: str, own: Vectors, ids: list[str], vectors: Vectors
) -> tuple[Vectors, Vectors]:
    """How unusual each article's similarity to ``own`` is on ``side``: for the reader, and
    for the article."""
    mine = side.centred(own)
    theirs = side.centred_rows(vectors)
    similarity = theirs @ mine
    usual_me, spread_me = side.usual(mine[None, :], [doc_id])
    usual_them, spread_them = side.usual(theirs, ids)
    mine_side: Vectors = (similarity - usual_me[0]) / spread_me[0]
    their_side: Vectors = (similarity - usual_them) / spread_them
    return mine_side, their_side


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


@lru_cache(maxsize=4096)  # Keep Reading shows the same articles question after question
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
