"""Learn series: articles grouped by topic, as their front matter names it or, where it names
none, as their embeddings cluster.

Automatic series: average-linkage clustering of one vector per article (the mean of its
passages, centred on the collection's mean). Groups merge while their articles are, on average,
SERIES_LINK standard deviations more alike than two articles picked at random, so the number
of series follows the collection: a handful for a few dozen articles on a few topics, about
twenty for a couple of hundred FAQ entries in twenty sections. Each series is named by the
terms frequent in it and rare elsewhere.

Reading order, in every series: front matter ``order`` (else ``weight``) first, then from the
most general article to the most specific, the general one being the closest to the series'
centre (an introduction touches everything its series goes on to treat).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from answerdb.types import Document, Vectors

Labels = npt.NDArray[np.int64]
# Calibrated on the demo (its 8 front-matter series, removed) and faq-python (21 sections): at
# 0.75 the demo splits into 8 series and faq-python into 15; 0.5 merges distinct topics, 1.0
# splits topics in two.
SERIES_LINK = 0.75
# A series shorter than this is hardly a series: its articles join the nearest longer one.
MIN_ARTICLES = 3
NAME_TERMS = 3
# Clustering is quadratic in the articles: beyond this many, a sample is clustered and the
# others join the series with the nearest centre.
LINK_SAMPLE = 1500
_WORD = re.compile(r"[a-z][a-z0-9-]{2,}")
_STOPWORD_TEXT = """
    about above after again against all also among and any are because been before being
    between both but can cannot could did does doing down during each few for from further had
    has have having her here hers how into its itself just more most much must not now off once
    only other our out over own same should some such than that the their theirs them then there
    these they this those through too under until use used uses using very was were what when
    where which while who whom why will with without would you your yours one two many may like
    get gets make makes well way ways often usually new need needs different common"""
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())


@dataclass
class Series:
    """A named group of articles, in reading order; ``auto`` when answerdb grouped them."""

    name: str
    articles: list[Document] = field(default_factory=list)
    auto: bool = False
    terms: list[str] = field(default_factory=list)


def series_from_metadata(
    documents: list[Document], vectors_of: Callable[[str], Vectors] | None = None
) -> list[Series]:
    """Group documents by their ``series`` metadata; series sorted by name, each in reading
    order (by front matter alone when ``vectors_of``, passage vectors by id, is not given)."""
    groups: dict[str, list[Document]] = {}
    for doc in documents:
        name = _named_series(doc)
        if name:
            groups.setdefault(name, []).append(doc)
    found: list[Series] = []
    for name in sorted(groups):
        articles = groups[name]
        vectors = _article_vectors(articles, vectors_of) if vectors_of else None
        found.append(Series(name, reading_order(articles, vectors)))
    return found


def learn_series(
    documents: list[Document],
    vectors_of: Callable[[str], Vectors],
    text_of: Callable[[str], Document | None] | None = None,
    seed: int = 0,
) -> list[Series]:
    """Series from front matter, plus automatic series for the articles that name none.

    ``vectors_of(doc_id)`` gives an article's passage vectors (unit rows); ``text_of`` the
    document with its text, so that names come from bodies as well as headings.
    """
    named = series_from_metadata(documents, vectors_of)
    unnamed = [doc for doc in documents if not _named_series(doc)]
    if not unnamed:
        return named
    if text_of is not None:
        unnamed = [text_of(doc.doc_id) or doc for doc in unnamed]
    return named + auto_series(unnamed, _article_vectors(unnamed, vectors_of), seed=seed)


def auto_series(documents: list[Document], vectors: Vectors, seed: int = 0) -> list[Series]:
    """Cluster articles (one unit vector each) into named series, largest first."""
    if not documents:
        return []
    labels = cluster(_centred(vectors), seed)
    groups = [np.flatnonzero(labels == c) for c in range(int(labels.max()) + 1)]
    words = [_terms(doc) for doc in documents]
    found: list[Series] = []
    for group in (g for g in groups if len(g)):
        terms = distinctive_terms(words, group)
        articles = [documents[i] for i in group]
        name = _name(terms) or f"Series {len(found) + 1}"
        ordered = reading_order(articles, vectors[group])
        found.append(Series(name=name, articles=ordered, auto=True, terms=terms))
    found.sort(key=lambda s: (-len(s.articles), s.name))
    return _unique_names(found)


def reading_order(articles: list[Document], vectors: Vectors | None = None) -> list[Document]:
    """Front matter ``order`` (else ``weight``) first, lowest first; then the most central
    article (closest to the mean of ``vectors``, one unit row per article) to the least."""
    closeness: npt.NDArray[np.floating[Any]] = np.zeros(len(articles))
    if vectors is not None and len(articles):
        closeness = vectors @ _unit(vectors.mean(axis=0))

    def key(i: int) -> tuple[bool, float, float, int]:
        rank = front_matter_order(articles[i])
        return (rank is None, rank or 0.0, -float(closeness[i]), i)

    return [articles[i] for i in sorted(range(len(articles)), key=key)]


def front_matter_order(doc: Document) -> float | None:
    """The article's ``order`` (or ``weight``) from front matter, when it is a number."""
    for name in ("order", "weight"):
        value = doc.metadata.get(name)
        if isinstance(value, bool) or value is None:
            continue
        try:
            number = float(value)
        except (TypeError, ValueError):
            continue
        if math.isfinite(number):
            return number
    return None


def cluster(vectors: Vectors, seed: int = 0) -> Labels:
    """Series labels (0..k-1) for centred unit article vectors: average linkage on a sample
    of at most LINK_SAMPLE, the other articles joining the nearest series."""
    n = len(vectors)
    rng = np.random.default_rng(seed)
    sample = np.sort(rng.choice(n, size=LINK_SAMPLE, replace=False)) if n > LINK_SAMPLE else None
    linked = vectors[sample] if sample is not None else vectors
    groups = _fold_small(linked, link(linked, max_series(n)))
    centres = np.stack([_unit(linked[g].sum(axis=0)) for g in groups])
    labels: Labels = np.argmax(vectors @ centres.T, axis=1).astype(np.int64)
    if sample is None:  # the linked articles keep their own group, nearest centre or not
        for c, group in enumerate(groups):
            labels[group] = c
    return labels


def max_series(n: int) -> int:
    """The most series ``n`` articles make, whatever their topics: 2 sqrt(n) (27 for 180
    articles, 200 for 10,000), so that a browsable number of series covers any collection."""
    return max(1, math.ceil(2 * math.sqrt(n)))


def link(vectors: Vectors, most: int) -> list[list[int]]:
    """Average-linkage groups: the two groups whose articles are most alike on average merge,
    while they are SERIES_LINK standard deviations above a random pair or there are more than
    ``most`` groups."""
    n = len(vectors)
    if n < 2:
        return [list(range(n))]
    pairs = vectors @ vectors.T
    usual, spread = _pair_statistics(pairs)
    if spread < 1e-6:  # all articles equally alike: no topic stands out
        return [list(range(n))]
    linkage = _Linkage(vectors, (pairs - usual) / spread, usual, spread)
    while linkage.count > 1:
        a, b, score = linkage.best()
        if score < SERIES_LINK and linkage.count <= most:
            break
        linkage.merge(a, b)
    return linkage.groups()


class _Linkage:
    """Groups as sums of their unit vectors: the mean similarity between two groups is the dot
    product of their sums over the product of their sizes. Each row keeps its best partner."""

    def __init__(self, vectors: Vectors, z: npt.NDArray[np.float32], usual: float, spread: float):
        self.sums = vectors.astype(np.float64)
        self.sizes = np.ones(len(vectors))
        self.usual, self.spread = usual, spread
        self.z = z.astype(np.float64)
        np.fill_diagonal(self.z, -np.inf)
        self.members: dict[int, list[int]] = {i: [i] for i in range(len(vectors))}
        self.partner = np.argmax(self.z, axis=1)
        self.count = len(vectors)

    def best(self) -> tuple[int, int, float]:
        tops = self.z[np.arange(len(self.z)), self.partner]
        a = int(np.argmax(tops))
        return a, int(self.partner[a]), float(tops[a])

    def merge(self, a: int, b: int) -> None:
        self.sums[a] += self.sums[b]
        self.sizes[a] += self.sizes[b]
        self.members[a] += self.members.pop(b)
        self.count -= 1
        row = (self.sums @ self.sums[a] / (self.sizes * self.sizes[a]) - self.usual) / self.spread
        gone = np.ones(len(row), dtype=bool)
        gone[list(self.members)] = False
        row[gone] = -np.inf
        row[a] = -np.inf
        self.z[a, :] = row
        self.z[:, a] = row
        self.z[b, :] = -np.inf
        self.z[:, b] = -np.inf
        self._repartner(a, b, row)

    def _repartner(self, a: int, b: int, row: npt.NDArray[np.float64]) -> None:
        # Rows that lost their partner look again; the others only compare with the new group.
        stale = np.flatnonzero((self.partner == a) | (self.partner == b))
        self.partner[stale] = np.argmax(self.z[stale], axis=1)
        better = row > self.z[np.arange(len(row)), self.partner]
        self.partner[better] = a
        self.partner[a] = int(np.argmax(self.z[a]))

    def groups(self) -> list[list[int]]:
        return [sorted(g) for g in self.members.values()]


def _pair_statistics(pairs: npt.NDArray[np.float32]) -> tuple[float, float]:
    """Mean and spread of the similarities of distinct articles: what a random pair scores."""
    off = pairs[~np.eye(len(pairs), dtype=bool)]
    return float(off.mean()), float(off.std())


def _fold_small(vectors: Vectors, groups: list[list[int]]) -> list[list[int]]:
    """Groups under MIN_ARTICLES dissolve: each article joins the nearest remaining group."""
    kept = [list(g) for g in groups if len(g) >= MIN_ARTICLES]
    if not kept:
        return [sorted(i for g in groups for i in g)]
    centres = np.stack([_unit(vectors[g].sum(axis=0)) for g in kept])
    for group in (g for g in groups if len(g) < MIN_ARTICLES):
        for i in group:
            kept[int(np.argmax(centres @ vectors[i]))].append(i)
    return [sorted(g) for g in kept]


def distinctive_terms(
    words: list[Counter[str]], group: npt.NDArray[np.int64], count: int = NAME_TERMS
) -> list[str]:
    """Terms found in many of the group's articles and few of the others."""
    members = set(group.tolist())
    inside: Counter[str] = Counter()
    outside: Counter[str] = Counter()
    for i, bag in enumerate(words):
        (inside if i in members else outside).update(bag.keys())
    n_in, n_out = len(members), max(len(words) - len(members), 1)
    scores = {
        term: df / n_in - outside[term] / n_out + 0.01 * sum(words[i][term] for i in members)
        for term, df in inside.items()
        if df >= min(2, n_in)
    }
    picked: list[str] = []
    for term in sorted(scores, key=lambda t: (-scores[t], t)):
        # "vector" and "vectors" name one idea once.
        if not any(_stem(term) == _stem(p) for p in picked):
            picked.append(term)
        if len(picked) == count:
            break
    return picked


def _stem(term: str) -> str:
    if term.endswith("ies"):
        return term[:-3] + "y"
    return term[:-1] if term.endswith("s") and len(term) > 3 else term


def _named_series(doc: Document) -> str:
    return str(doc.metadata.get("series", "")).strip()


def _article_vectors(articles: list[Document], vectors_of: Callable[[str], Vectors]) -> Vectors:
    """One unit vector per article: the mean of its passage vectors."""
    return np.stack([_unit(vectors_of(doc.doc_id).mean(axis=0)) for doc in articles])


def _unit(vector: npt.NDArray[np.floating[Any]]) -> Vectors:
    unit: Vectors = (vector / max(float(np.linalg.norm(vector)), 1e-12)).astype(np.float32)
    return unit


def _centred(vectors: Vectors) -> Vectors:
    # Sentence embeddings share a common direction; removing it spreads the topics apart.
    if len(vectors) < 2:
        return vectors
    shifted = vectors - vectors.mean(axis=0)
    norms = np.maximum(np.linalg.norm(shifted, axis=1, keepdims=True), 1e-12)
    centred: Vectors = (shifted / norms).astype(np.float32)
    return centred


def _terms(doc: Document) -> Counter[str]:
    # The question or title says what an article is about more surely than its body.
    heading = _WORD.findall(doc.heading.lower())
    body = _WORD.findall(doc.text.lower())
    bag = Counter(w for w in body if w not in _STOPWORDS)
    bag.update({w: 3 for w in heading if w not in _STOPWORDS})
    return bag


def _name(terms: list[str]) -> str:
    return ", ".join(terms).capitalize()


def _unique_names(groups: list[Series]) -> list[Series]:
    seen: Counter[str] = Counter()
    for group in groups:
        seen[group.name] += 1
        if seen[group.name] > 1:
            group.name = f"{group.name} ({seen[group.name]})"
    return groups
