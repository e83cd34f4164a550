"""Finding a query's nearest rows among a set of live rows: an exact scan when the set is
small, else a graph walk re-scored exactly, with the rows the graph lacks scanned beside it;
and, the same way, each row's crowding (the mean similarity of its nearest rows)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from answerdb.store.embedded.filter_cache import Bitmap, Rows
from answerdb.store.embedded.hnsw import AnnIndex
from answerdb.store.embedded.vectors import Matrix, VectorFile

# (row, exact score), best first.
Ranked = list[tuple[int, float]]
# The graph (L2 on codes) proposes twice k candidates; exact inner products pick the best k.
OVERSAMPLE = 2
# A filter leaves fewer usable neighbours per hop; the graph search widens up to this.
MAX_FILTERED_EF = 2048
# Crowding needs only a few neighbours: half a search's width found the same ones at 200k rows.
CROWDING_EF = 48


def nearest(
    ann: AnnIndex,
    query: Matrix,
    k: int,
    rows: Rows,
    bits: Bitmap | None,
    committed: int,
    exact_limit: int,
    filtered: bool = False,
    ef: int | None = None,
) -> Ranked:
    """The k best of ``rows`` (with ``bits`` their bitmap, None for every row) among the
    first ``committed`` stored rows; ``ef`` overrides the graph's search width."""
    if len(rows) <= exact_limit or not ann.rows:
        return exact(ann.vectors, query, rows, k, committed)
    if filtered:
        ef = min(MAX_FILTERED_EF, ann.settings.ef_search * committed // len(rows))
    ranked = ann.nearest(query, k, k * OVERSAMPLE, bits, ef=ef)
    if ranked is None:
        candidates = ann.search(query, k * OVERSAMPLE, bits, ef=ef)
        ranked = exact(ann.vectors, query, candidates, k, committed)
    if ann.rows < committed:  # rows the graph does not hold yet: scanned exactly
        tail = exact(ann.vectors, query, rows[rows >= ann.rows], k, committed)
        ranked = sorted(ranked + tail, key=lambda hit: -hit[1])[:k]
    return ranked


def exact(vectors: VectorFile, query: Matrix, rows: Rows, k: int, committed: int) -> Ranked:
    """The k best of ``rows`` by exact inner product with the float query."""
    scores = vectors.scores(query, rows, committed)
    top = np.argsort(-scores)[:k]
    return list(zip(rows[top].tolist(), scores[top].tolist(), strict=True))


def crowding(
    ann: AnnIndex,
    of: Rows,
    k: int,
    rows: Rows,
    bits: Bitmap | None,
    committed: int,
    exact_limit: int,
) -> Matrix:
    """For each row in ``of``, the mean similarity of its k nearest other rows of ``rows``."""
    vectors = ann.vectors
    points = vectors.decode(np.asarray(vectors.rows(committed)[of]))
    if len(rows) <= exact_limit or not ann.rows:  # one product for all of them
        scores = points @ vectors.decode(np.asarray(vectors.rows(committed)[rows])).T
        scores[rows[None, :] == of[:, None]] = -np.inf  # a row is not its own neighbour
        return _top_mean(scores, k)
    out = np.empty(len(of), dtype=np.float32)
    for i, (row, point) in enumerate(zip(of.tolist(), points, strict=True)):
        found = nearest(ann, point, k + 1, rows, bits, committed, exact_limit, ef=CROWDING_EF)
        sims = [score for other, score in found if other != row][:k]
        out[i] = float(np.mean(sims)) if sims else 0.0
    return out


class CrowdingCache:
    """Each row's crowding, computed once per row until the next commit clears it (the same
    passages come back search after search)."""

    def __init__(self) -> None:
        self._known: dict[int, Matrix] = {}  # k → crowding by row

    def clear(self) -> None:
        self._known = {}

    def get(self, of: Rows, k: int, compute: Callable[[Rows], Matrix]) -> Matrix:
        """Crowding of the rows ``of``; ``compute`` is asked only for those not known yet."""
        known = self._known.get(k, np.zeros(0, dtype=np.float32))
        if len(of) and int(of.max()) >= len(known):  # NaN: not asked for yet
            unknown = np.full(int(of.max()) + 1 - len(known), np.nan, dtype=np.float32)
            known = np.concatenate([known, unknown])
        self._known[k] = known
        todo = np.unique(of[np.isnan(known[of])])
        if len(todo):
            known[todo] = compute(todo)
        return known[of]


def _top_mean(scores: Matrix, k: int) -> Matrix:
    """Each line's mean of its k largest finite values (0 where it has none)."""
    k = min(k, scores.shape[1])
    if k == 0:
        return np.zeros(scores.shape[0], dtype=np.float32)
    top = -np.partition(-scores, k - 1, axis=1)[:, :k]
    finite = np.isfinite(top)
    total = np.where(finite, top, 0.0).sum(axis=1)
    means: Matrix = (total / np.maximum(finite.sum(axis=1), 1)).astype(np.float32)
    return means
