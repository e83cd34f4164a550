"""Vectors of texts kept between calls, per model, in a bounded dict that threads share."""

from __future__ import annotations

from collections.abc import Callable

from answerdb.embed.base import Embedder
from answerdb.types import Vectors

KeptVectors = dict[tuple[str, str], Vectors]


def kept_vectors(
    kept: KeptVectors,
    model: Embedder,
    texts: list[str],
    limit: int,
    prepare: Callable[[Vectors], Vectors | None] = lambda vector: vector,
) -> dict[str, Vectors]:
    """Each text's vector: from ``kept``, else embedded (all missing ones in one batch) and
    kept. ``prepare`` turns a new vector into what is kept, or None for a text that has none
    (it is left out). ``kept`` is emptied when it would pass ``limit`` entries."""
    # Read into a dict of this call's own: another thread may clear the shared one meanwhile.
    found = {t: v for t in texts if (v := kept.get((model.name, t))) is not None}
    missing = list(dict.fromkeys(t for t in texts if t not in found))
    if missing:
        if len(kept) + len(missing) > limit:
            kept.clear()
        for text, vector in zip(missing, model.embed(missing), strict=True):
            ready = prepare(vector)
            if ready is not None:
                found[text] = kept[(model.name, text)] = ready
    return found
