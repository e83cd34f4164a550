"""Shared fixtures: a small deterministic embedder for store tests, the real one for the rest."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest

from answerdb.embed import STATIC_MODEL, Embedder, load_embedder
from answerdb.embed.base import Progress, Vectors

if TYPE_CHECKING:
    from answerdb.db import AnswerDB


class HashEmbedder:
    """Bag-of-words vectors from hashed words: fast, deterministic, similar texts stay close.

    For tests of storage and plumbing only; retrieval quality is tested with the real model.
    """

    name = "test-hash"
    revision = "1"
    dim = 64

    def embed(self, texts: Sequence[str], progress: Progress | None = None) -> Vectors:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in text.lower().split():
                slot = int(hashlib.md5(word.strip(".,?!").encode()).hexdigest(), 16) % self.dim
                out[i, slot] += 1.0
            out[i] /= max(float(np.linalg.norm(out[i])), 1e-9)
        if progress:
            progress(len(texts))
        return out

    def embed_query(self, text: str) -> Vectors:
        return self.embed([text])[0]


@pytest.fixture
def hash_embedder() -> HashEmbedder:
    return HashEmbedder()


@pytest.fixture(scope="session")
def minilm() -> Embedder:
    """The real default model (loaded once per test session)."""
    return load_embedder(threads=2)


@pytest.fixture(scope="session")
def static_model() -> Embedder:
    """The static model; its table is built once per machine into the user's model cache
    (``$ANSWERDB_CACHE/models``), as in real use, then read in well under a second."""
    return load_embedder(STATIC_MODEL, threads=2)


@pytest.fixture(scope="session")
def demo_kb(tmp_path_factory: pytest.TempPathFactory, minilm: Embedder) -> Path:
    """The demo articles ingested with the real model, shared by the tests that only read."""
    from answerdb.db import AnswerDB
    from answerdb.store.embedded.store import EmbeddedStore

    from .kb import DEMO

    path = tmp_path_factory.mktemp("demo") / "kb"
    with AnswerDB(EmbeddedStore(path), model=minilm.name, embedder=minilm) as db:
        db.ingest([DEMO], on_error="raise")
    return path


@pytest.fixture
def demo_db(demo_kb: Path, minilm: Embedder) -> Iterator[AnswerDB]:
    """A read-only handle on the shared demo knowledge base."""
    from answerdb.db import AnswerDB
    from answerdb.store.embedded.store import EmbeddedStore

    db = AnswerDB(EmbeddedStore(demo_kb, readonly=True), model=minilm.name, embedder=minilm)
    yield db
    db.close()
