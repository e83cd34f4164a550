"""What an article's place says of its topic: an FAQ file puts related questions together, so
articles added one after another from one source are often about one thing. How often is
measured per collection, never assumed: the pairs of articles 1, 2, … places apart in their
source are scored like any pair (answer/related.py), and each distance keeps its pairs' mean
score while that mean stands clear of zero. A collection whose order means nothing (records in
id order, a shuffled corpus) measures about zero at every distance and gets no placement.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from answerdb.types import Document

# Distances measured, in places: beyond eight an FAQ's neighbours are seldom closer than chance.
PLACES = 8
# Runs of PLACES + 1 articles of one source, spread over the collection, that are measured.
RUNS = 48
# A distance counts while its pairs' mean is this many standard errors above zero...
SIGNIFICANCE = 2.0
# ...from at least this many pairs.
MIN_PAIRS = 8

# Scores of the articles of ``others`` as Keep Reading of ``reader``, in that order.
PairScores = Callable[[Document, list[Document]], list[float]]


def runs(docs: list[Document], count: int = RUNS, length: int = PLACES + 1) -> list[list[Document]]:
    """Runs of consecutive documents of one source from ``docs`` (oldest first): every one
    when they are few, else ``count`` runs of ``length`` spread evenly."""
    if len(docs) <= count * length:
        return _by_source(docs)
    step = len(docs) / count
    return [_by_source(docs[int(i * step) : int(i * step) + length])[0] for i in range(count)]


def measure(docs: list[Document], scores: PairScores) -> tuple[float, ...]:
    """The mean score of pairs 1, 2, … places apart in ``docs``' runs, for as many distances
    as stand clear of zero in a row (never rising with distance)."""
    found: dict[int, list[float]] = {place: [] for place in range(1, PLACES + 1)}
    for run in runs(docs):
        for i, reader in enumerate(run[:-1]):
            after = run[i + 1 : i + 1 + PLACES]
            for place, score in enumerate(scores(reader, after), start=1):
                found[place].append(score)
    placement: list[float] = []
    for values in found.values():
        mean = _clear_mean(values)
        if mean is None:
            break
        placement.append(min(mean, placement[-1]) if placement else mean)
    return tuple(placement)


def _clear_mean(values: list[float]) -> float | None:
    """The mean of ``values`` when it stands SIGNIFICANCE standard errors above zero."""
    if len(values) < MIN_PAIRS:
        return None
    mean = sum(values) / len(values)
    spread = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))
    return mean if mean > SIGNIFICANCE * spread / math.sqrt(len(values)) else None


def _by_source(docs: list[Document]) -> list[list[Document]]:
    """``docs`` cut wherever the source changes."""
    cut: list[list[Document]] = []
    for doc in docs:
        if cut and cut[-1][-1].source == doc.source:
            cut[-1].append(doc)
        else:
            cut.append([doc])
    return cut
