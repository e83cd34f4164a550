"""Fusing dense and keyword results into one ranking.

Convex fusion by default: each list's scores are z-normalised over its top ``window`` hits and
summed with weights; a passage one list did not return counts as that list's lowest score. A
query phrased as a question weighs the dense list a little more: questions are what the
sentence model was trained to match to answers, and an answer seldom repeats their words.
Reciprocal rank fusion (``weight / (k + rank)`` summed) is the alternative. docs/quality.md
has the measurements behind the defaults: equal-weight RRF throws away much of the stronger
side when one side is far better (FAQ-style data), weighted z-score fusion does not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np

from answerdb.types import Hit

Mode = Literal["dense", "keyword", "hybrid"]
MODES: tuple[str, ...] = ("dense", "keyword", "hybrid")
_QUESTION_OPENER = re.compile(
    r"(how|what|why|when|where|which|who|whom|whose|can|could|do|does|did|is|are|was|were"
    r"|should|would|will|shall|may|might|must|has|have|had)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class FusionSettings:
    """How dense scores are discounted for crowding and how hybrid mode combines its two
    lists (see docs/quality.md for the measurements)."""

    method: Literal["convex", "rrf"] = "convex"
    dense_weight: float = 0.6
    keyword_weight: float = 0.4
    rrf_k: int = 60
    # How many candidates each side contributes before fusion.
    depth: int = 100
    # Convex fusion normalises with the mean and spread of each list's top `window` scores.
    window: int = 100
    # Dense scores lose this times a passage's crowding (retrieve/crowding.py); 0 turns it off.
    crowding_weight: float = 0.3
    # Crowding is the mean similarity of a passage's this many nearest neighbours.
    crowding_neighbours: int = 5
    # A query phrased as a question moves this much weight from the keyword list to the dense.
    question_shift: float = 0.1

    def weights(self, query: str) -> tuple[float, float]:
        """The (dense, keyword) weights for one query."""
        shift = min(self.question_shift, self.keyword_weight) if is_question(query) else 0.0
        return self.dense_weight + shift, self.keyword_weight - shift


def is_question(query: str) -> bool:
    """Whether a query is phrased as a question: it ends in "?" or opens like one."""
    text = query.strip()
    return text.endswith("?") or bool(_QUESTION_OPENER.match(text))


def rrf(lists: list[list[Hit]], weights: list[float], k: int = 60) -> list[Hit]:
    """Weighted reciprocal rank fusion; a passage's score sums ``w / (k + rank)``."""
    scores: dict[int, float] = {}
    first: dict[int, Hit] = {}
    for hits, weight in zip(lists, weights, strict=True):
        for rank, hit in enumerate(hits, start=1):
            scores[hit.row] = scores.get(hit.row, 0.0) + weight / (k + rank)
            first.setdefault(hit.row, hit)
    return _ranked(first, scores)


def convex(lists: list[list[Hit]], weights: list[float], window: int = 100) -> list[Hit]:
    """Weighted sum of z-normalised scores; a list's lowest score stands in where it is silent."""
    normalised = [_zscores(hits, window) for hits in lists]
    floors = [min(z.values(), default=0.0) for z in normalised]
    first = {hit.row: hit for hits in reversed(lists) for hit in hits}
    scores = {
        row: sum(
            w * z.get(row, floor) for z, w, floor in zip(normalised, weights, floors, strict=True)
        )
        for row in first
    }
    return _ranked(first, scores)


def _zscores(hits: list[Hit], window: int) -> dict[int, float]:
    if not hits:
        return {}
    top = np.array([h.score for h in hits[:window]], dtype=np.float64)
    spread = float(top.std()) or 1.0
    mean = float(top.mean())
    return {h.row: (h.score - mean) / spread for h in hits}


def fuse(
    dense: list[Hit], keyword: list[Hit], settings: FusionSettings, query: str = ""
) -> list[Hit]:
    """Combine the two lists of ``query`` as ``settings`` say."""
    weights = list(settings.weights(query))
    if settings.method == "convex":
        return convex([dense, keyword], weights, settings.window)
    return rrf([dense, keyword], weights, settings.rrf_k)


def _ranked(first: dict[int, Hit], scores: dict[int, float]) -> list[Hit]:
    order = sorted(scores, key=lambda row: -scores[row])
    return [replace(first[row], score=scores[row]) for row in order]
