"""Re-ranking: a second, slower model that re-orders the first hits of a search.

No cross-encoder re-ranker ships offline on PyPI for this machine (see docs/quality.md), so
answerdb has none built in; this is the hook to plug one in:

    db = answerdb.open("kb/", reranker=MyCrossEncoder())
    db.search("question", mode="hybrid+rerank")

or from the shell, ``answerdb eval DIR --reranker mypackage.rerank:MyCrossEncoder``.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any, Protocol

from answerdb.errors import InputError
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


def load_reranker(spec: str) -> Reranker:
    """The re-ranker ``module:name`` names: an object with ``score``, or what makes one."""
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise InputError(f"--reranker {spec!r}: give MODULE:NAME, e.g. mypackage.rerank:Model")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # as `python -m` does: a module in this folder is found
    try:
        found: Any = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise InputError(f"--reranker {spec!r}: cannot load it ({exc})") from None
    if isinstance(found, type) or not hasattr(found, "score"):
        if not callable(found):
            raise InputError(f"--reranker {spec!r}: has no score(query, passages) method")
        try:
            found = found()  # a class or factory taking no arguments
        except TypeError as exc:
            raise InputError(
                f"--reranker {spec!r}: cannot make one without arguments ({exc})"
            ) from None
    if not callable(getattr(found, "score", None)):
        raise InputError(f"--reranker {spec!r}: what it makes has no score(query, passages)")
    reranker: Reranker = found
    return reranker
