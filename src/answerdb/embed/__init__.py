"""Embedding models: the Embedder contract and the models answerdb can load by name."""

from __future__ import annotations

from answerdb.embed.base import Embedder
from answerdb.errors import InputError
from answerdb.types import Vectors

DEFAULT_MODEL = "all-MiniLM-L6-v2"
# MiniLM distilled to a static token table: far faster, weaker (see docs/models.md).
STATIC_MODEL = "minilm-static-256"
MODELS = (DEFAULT_MODEL, STATIC_MODEL)


def load_embedder(name: str = DEFAULT_MODEL, threads: int | None = None) -> Embedder:
    """Load an embedding model by its recorded name (one of MODELS); unknown names are an
    InputError. ``threads`` bounds onnxruntime (for the static model, while its table is built
    on first use)."""
    if name == DEFAULT_MODEL:
        from answerdb.embed.minilm import MiniLMEmbedder

        return MiniLMEmbedder(threads=threads)
    if name == STATIC_MODEL:
        from answerdb.embed.static import StaticEmbedder

        return StaticEmbedder(threads=threads)
    raise InputError(f"unknown embedding model {name!r}; available: {', '.join(MODELS)}")


def holds_gil(name: str) -> bool:
    """Whether the named model embeds in Python code that holds the GIL (its class says so;
    nothing is loaded)."""
    if name == STATIC_MODEL:
        from answerdb.embed.static import StaticEmbedder

        return StaticEmbedder.holds_gil
    return False


__all__ = [
    "DEFAULT_MODEL",
    "MODELS",
    "STATIC_MODEL",
    "Embedder",
    "Vectors",
    "holds_gil",
    "load_embedder",
]
