"""The Embedder contract: texts in, L2-normalised float32 vectors out."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from answerdb.types import Vectors

Progress = Callable[[int], None]


class Embedder(Protocol):
    """What the knowledge base needs from an embedding model.

    ``name``, ``revision`` and ``dim`` are recorded in the knowledge base so that it is
    never searched with vectors of another model. A model whose new revision's vectors stay
    close to an earlier one's may list the revisions it can share a knowledge base with in
    ``accepts`` (a frozenset of revision strings). A model whose embedding is Python code may
    also set ``holds_gil = True`` (and pickle as a way to load it again): a large ingest then
    embeds in a child process (``embed/worker.py``).
    """

    name: str
    revision: str
    dim: int

    def embed(self, texts: Sequence[str], progress: Progress | None = None) -> Vectors:
        """Embed passages; ``progress`` is called with the count done after each batch."""
        ...

    def embed_query(self, text: str) -> Vectors:
        """Embed one query the way the model expects queries; shape (dim,)."""
        ...
