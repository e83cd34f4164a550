"""Each row's crowding, the mean similarity of its nearest other rows (hubness), found the way
a search finds neighbours (search.py), and kept per process until the store changes."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from answerdb.store.embedded.filter_cache import Bitmap, Rows
from answerdb.store.embedded.hnsw import AnnIndex
from answerdb.store.embedded.search import nearest
from answerdb.types import Vectors

# Crowding needs only a few neighbours: half a search's width found the same ones at 200k rows.
CROWDING_EF = 48


def crowding(
    ann: AnnIndex,
    of: Rows,
    k: int,
    rows: Rows,
    bits: Bitmap | None,
    committed: int,
    exact_limit: int,
) -> Vectors:
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
        self._known: dict[int, Vectors] = {}  # k → crowding by row

    def clear(self) -> None:
        self._known = {}

    def get(self, of: Rows, k: int, compute: Callable[[Rows], Vectors]) -> Vectors:
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


def _top_mean(scores: Vectors, k: int) -> Vectors:
    """Each line's mean of its k largest finite values (0 where it has none)."""
    k = min(k, scores.shape[1])
    if k == 0:
        return np.zeros(scores.shape[0], dtype=np.float32)
    top = -np.partition(-scores, k - 1, axis=1)[:, :k]
    finite = np.isfinite(top)
    total = np.where(finite, top, 0.0).sum(axis=1)
    means: Vectors = (total / np.maximum(finite.sum(axis=1), 1)).astype(np.float32)
    return means
