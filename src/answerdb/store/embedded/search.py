"""Finding a query's nearest rows among a set of live rows: an exact scan when the set is
small, else a graph walk re-scored exactly, with the rows the graph lacks scanned beside it."""

from __future__ import annotations

import numpy as np

from answerdb.store.embedded.filter_cache import Bitmap, Rows
from answerdb.store.embedded.hnsw import AnnIndex
from answerdb.store.embedded.vectors import VectorFile
from answerdb.types import Vectors

# (row, exact score), best first.
Ranked = list[tuple[int, float]]
# The graph (L2 on codes) proposes twice k candidates; exact inner products pick the best k.
OVERSAMPLE = 2
# A filter leaves fewer usable neighbours per hop; the graph search widens up to this.
MAX_FILTERED_EF = 2048


def nearest(
    ann: AnnIndex,
    query: Vectors,
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


def exact(vectors: VectorFile, query: Vectors, rows: Rows, k: int, committed: int) -> Ranked:
    """The k best of ``rows`` by exact inner product with the float query."""
    scores = vectors.scores(query, rows, committed)
    top = np.argsort(-scores)[:k]
    return list(zip(rows[top].tolist(), scores[top].tolist(), strict=True))
