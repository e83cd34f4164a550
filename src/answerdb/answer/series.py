"""Learn series: articles grouped by topic, as their front matter names it or, where it names
none, as their embeddings cluster.

Automatic series: spherical k-means over one vector per article (the mean of its passages,
centred on the collection's mean), k chosen by the best silhouette; each series is named by
the terms frequent in it and rare elsewhere, and ordered from its most central article
(introductory) to its most peripheral.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from answerdb.types import Document, Vectors

MAX_SERIES = 12
# A series shorter than this is hardly a series: it bounds k from above.
MIN_ARTICLES = 3
NAME_TERMS = 3
# Silhouette on more articles than this is estimated on a sample (it costs n²).
SILHOUETTE_SAMPLE = 2000
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


def series_from_metadata(documents: list[Document]) -> list[Series]:
    """Group documents by their ``series`` metadata; series sorted by name."""
    groups: dict[str, Series] = {}
    for doc in documents:
        name = _named_series(doc)
        if name:
            groups.setdefault(name, Series(name)).articles.append(doc)
    return [groups[name] for name in sorted(groups)]


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
    named = series_from_metadata(documents)
    unnamed = [doc for doc in documents if not _named_series(doc)]
    if not unnamed:
        return named
    if text_of is not None:
        unnamed = [text_of(doc.doc_id) or doc for doc in unnamed]
    vectors = np.stack([_article_vector(vectors_of(doc.doc_id)) for doc in unnamed])
    return named + auto_series(unnamed, vectors, seed=seed)


def auto_series(documents: list[Document], vectors: Vectors, seed: int = 0) -> list[Series]:
    """Cluster articles (one unit vector each) into named series, largest first."""
    if not documents:
        return []
    labels = choose_clusters(_centred(vectors), seed)
    groups = [np.flatnonzero(labels == c) for c in range(int(labels.max()) + 1)]
    groups = [g for g in groups if len(g)]
    words = [_terms(doc) for doc in documents]
    found: list[Series] = []
    for group in groups:
        terms = distinctive_terms(words, group)
        ordered = _by_centrality(vectors, group)
        name = _name(terms) or f"Series {len(found) + 1}"
        articles = [documents[i] for i in ordered]
        found.append(Series(name=name, articles=articles, auto=True, terms=terms))
    found.sort(key=lambda s: (-len(s.articles), s.name))
    return _unique_names(found)


def choose_clusters(vectors: Vectors, seed: int = 0) -> npt.NDArray[np.int64]:
    """Cluster labels for the k (2..MAX_SERIES) with the best silhouette; one cluster when
    there are too few articles to split."""
    n = len(vectors)
    top = min(MAX_SERIES, n // MIN_ARTICLES)
    if top < 2:
        return np.zeros(n, dtype=np.int64)
    rng = np.random.default_rng(seed)
    sample = rng.choice(n, size=min(n, SILHOUETTE_SAMPLE), replace=False)
    best = (-2.0, np.zeros(n, dtype=np.int64))
    for k in range(2, top + 1):
        labels = kmeans(vectors, k, seed)
        score = silhouette(vectors[sample], labels[sample])
        if score > best[0]:
            best = (score, labels)
    return best[1]


def kmeans(
    vectors: Vectors, k: int, seed: int = 0, restarts: int = 8, rounds: int = 50
) -> npt.NDArray[np.int64]:
    """Spherical k-means (cosine), k-means++ starts; the labels of the tightest restart."""
    rng = np.random.default_rng(seed)
    best_labels = np.zeros(len(vectors), dtype=np.int64)
    best_fit = -np.inf
    for _ in range(restarts):
        centres = _plus_plus(vectors, k, rng)
        for _ in range(rounds):
            labels = np.argmax(vectors @ centres.T, axis=1)
            moved = _centres(vectors, labels, centres)
            if np.allclose(moved, centres):
                break
            centres = moved
        fit = float(np.sum(np.max(vectors @ centres.T, axis=1)))
        if fit > best_fit:
            best_fit, best_labels = fit, labels
    return best_labels.astype(np.int64)


def silhouette(vectors: Vectors, labels: npt.NDArray[np.int64]) -> float:
    """Mean silhouette with cosine distance; -1 when fewer than two clusters."""
    clusters = np.unique(labels)
    if len(clusters) < 2:
        return -1.0
    distance = 1.0 - vectors @ vectors.T
    scores = np.zeros(len(vectors))
    for i in range(len(vectors)):
        own = labels == labels[i]
        if own.sum() <= 1:
            continue  # a singleton's silhouette is 0 by convention
        inside = distance[i, own].sum() / (own.sum() - 1)
        outside = min(distance[i, labels == c].mean() for c in clusters if c != labels[i])
        scores[i] = (outside - inside) / max(inside, outside, 1e-12)
    return float(scores.mean())


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


def _article_vector(passages: Vectors) -> Vectors:
    centre: Vectors = passages.mean(axis=0).astype(np.float32)
    return centre / max(float(np.linalg.norm(centre)), 1e-12)


def _centred(vectors: Vectors) -> Vectors:
    # Sentence embeddings share a common direction; removing it spreads the topics apart.
    if len(vectors) < 2:
        return vectors
    shifted = vectors - vectors.mean(axis=0)
    norms = np.maximum(np.linalg.norm(shifted, axis=1, keepdims=True), 1e-12)
    centred: Vectors = (shifted / norms).astype(np.float32)
    return centred


def _plus_plus(vectors: Vectors, k: int, rng: np.random.Generator) -> Vectors:
    centres = [vectors[rng.integers(len(vectors))]]
    for _ in range(1, k):
        gap = np.clip(1.0 - np.max(vectors @ np.stack(centres).T, axis=1), 0.0, None)
        total = float(gap.sum())
        pick = rng.choice(len(vectors), p=gap / total) if total > 0 else rng.integers(len(vectors))
        centres.append(vectors[pick])
    return np.stack(centres)


def _centres(vectors: Vectors, labels: npt.NDArray[np.int64], old: Vectors) -> Vectors:
    centres = old.copy()
    for c in range(len(old)):
        members = vectors[labels == c]
        if len(members):  # an emptied cluster keeps its old centre
            mean = members.mean(axis=0)
            centres[c] = mean / max(float(np.linalg.norm(mean)), 1e-12)
    return centres


def _by_centrality(vectors: Vectors, group: npt.NDArray[np.int64]) -> list[int]:
    centre = _article_vector(vectors[group])
    closeness = vectors[group] @ centre
    return [int(group[i]) for i in np.argsort(-closeness, kind="stable")]


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
