"""Embedding models: the Embedder contract and the models answerdb can load by name."""

from __future__ import annotations

from answerdb.embed.base import Embedder, Vectors
from answerdb.errors import InputError

DEFAULT_MODEL = "all-MiniLM-L6-v2"


def load_embedder(name: str = DEFAULT_MODEL, threads: int | None = None) -> Embedder:
    """Load an embedding model by its recorded name; unknown names are an InputError."""
    if name == DEFAULT_MODEL:
        from answerdb.embed.minilm import MiniLMEmbedder

        return MiniLMEmbedder(threads=threads)
    raise InputError(f"unknown embedding model {name!r}; available: {DEFAULT_MODEL}")


__all__ = ["DEFAULT_MODEL", "Embedder", "Vectors", "load_embedder"]
