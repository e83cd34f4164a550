"""Re-ranking: a second, slower model that re-orders the first hits of a search.

No cross-encoder re-ranker ships offline on PyPI for this machine (see docs/quality.md), so
answerdb has none built in; this is the hook to plug one in:

    db = answerdb.open("kb/", reranker=MyCrossEncoder())
    db.search("question", mode="hybrid+rerank")
"""

from __future__ import annotations

from typing import Protocol

from answerdb.types import Hit

RERANK_SUFFIX = "+rerank"
# How many of the first hits the re-ranker sees; the rest keep their order behind them.
RERANK_DEPTH = 30


class Reranker(Protocol):
    """Scores (query, passage) pairs; higher is more relevant."""

    name: str

    def score(self, query: str, passages: list[str]) -> list[float]:
        """One score per passage, in the order given."""
        ...


def rerank(reranker: Reranker, query: str, hits: list[Hit], depth: int = RERANK_DEPTH) -> list[Hit]:
    """The first ``depth`` hits re-ordered by the re-ranker's scores, then the rest."""
    head, tail = hits[:depth], hits[depth:]
    scores = reranker.score(query, [hit.text for hit in head])
    order = sorted(range(len(head)), key=lambda i: -scores[i])
    return [head[i] for i in order] + tail
