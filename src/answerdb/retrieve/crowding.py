"""Hubness reduction for the dense side.

Some passages sit close to many others (boilerplate, broad overviews, answers that mention
everything); in embedding space they are near most queries too and crowd the top of dense
results without answering any of them. Each dense score therefore loses a weight times the
passage's crowding, the mean similarity of its nearest neighbours among the stored passages
(the local scaling of CSLS). docs/quality.md has the measurements behind the defaults.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from answerdb.types import Hit


def discount(hits: list[Hit], crowding: Sequence[float], weight: float) -> list[Hit]:
    """``hits`` re-scored as ``score - weight * crowding``, best first."""
    scored = [
        replace(hit, score=hit.score - weight * crowded)
        for hit, crowded in zip(hits, crowding, strict=True)
    ]
    return sorted(scored, key=lambda hit: -hit.score)
