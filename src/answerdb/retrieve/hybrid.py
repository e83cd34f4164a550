"""Fusing dense and keyword results into one ranking.

Reciprocal rank fusion (RRF) by default: each list adds ``weight / (k + rank)`` to a
passage. Convex fusion is the alternative: a weighted sum of min-max normalised scores.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from answerdb.types import Hit

Mode = Literal["dense", "keyword", "hybrid"]
MODES: tuple[str, ...] = ("dense", "keyword", "hybrid")


@dataclass(frozen=True)
class FusionSettings:
    """How hybrid mode combines its two lists (see docs/quality.md for the measurements)."""

    method: Literal["rrf", "convex"] = "rrf"
    rrf_k: int = 60
    dense_weight: float = 1.0
    keyword_weight: float = 1.0
    # How many candidates each side contributes before fusion.
    depth: int = 100


def rrf(lists: list[list[Hit]], weights: list[float], k: int = 60) -> list[Hit]:
    """Weighted reciprocal rank fusion; a passage's score sums ``w / (k + rank)``."""
    scores: dict[int, float] = {}
    first: dict[int, Hit] = {}
    for hits, weight in zip(lists, weights, strict=True):
        for rank, hit in enumerate(hits, start=1):
            scores[hit.row] = scores.get(hit.row, 0.0) + weight / (k + rank)
            first.setdefault(hit.row, hit)
    return _ranked(first, scores)


def convex(lists: list[list[Hit]], weights: list[float]) -> list[Hit]:
    """Weighted sum of scores min-max normalised within each list (absent counts as 0)."""
    scores: dict[int, float] = {}
    first: dict[int, Hit] = {}
    for hits, weight in zip(lists, weights, strict=True):
        if not hits:
            continue
        low = min(h.score for h in hits)
        span = (max(h.score for h in hits) - low) or 1.0
        for hit in hits:
            scores[hit.row] = scores.get(hit.row, 0.0) + weight * (hit.score - low) / span
            first.setdefault(hit.row, hit)
    return _ranked(first, scores)


def fuse(dense: list[Hit], keyword: list[Hit], settings: FusionSettings) -> list[Hit]:
    """Combine the two lists as ``settings`` says."""
    weights = [settings.dense_weight, settings.keyword_weight]
    if settings.method == "convex":
        return convex([dense, keyword], weights)
    return rrf([dense, keyword], weights, settings.rrf_k)


def _ranked(first: dict[int, Hit], scores: dict[int, float]) -> list[Hit]:
    order = sorted(scores, key=lambda row: -scores[row])
    return [replace(first[row], score=scores[row]) for row in order]
