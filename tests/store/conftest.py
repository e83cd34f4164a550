"""Stores for the contract tests: every backend the Store contract has, made fresh per test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from answerdb.store import open_store
from answerdb.store.base import Store
from answerdb.types import Document, Passage

from ..conftest import HashEmbedder

BACKENDS = ["embedded", "milvus-lite"]
MakeStore = Callable[..., Store]

TEXTS = {
    "cv": (
        "What is object detection?",
        "Object detection finds boxes around objects.",
        "Computer vision",
    ),
    "rag": (
        "What is RAG?",
        "Retrieval augmented generation grounds answers in passages.",
        "Retrieval-augmented generation",
    ),
    "hnsw": (
        "What is HNSW?",
        "HNSW is a layered graph index for nearest neighbour search.",
        "Vector databases",
    ),
}


def uri_for(backend: str, tmp_path: Path, name: str = "kb") -> str:
    """A fresh store URI of one backend under ``tmp_path``."""
    if backend == "milvus-lite":
        pytest.importorskip("pymilvus", reason="Milvus tests need the milvus extra")
        return f"milvus-lite:{tmp_path / 'milvus.db'}#{name}"
    return str(tmp_path / name)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def make_store(backend: str, tmp_path: Path) -> Iterator[MakeStore]:
    """Opens stores of the test's backend; every one is closed at the end."""
    opened: list[Store] = []

    def make(name: str = "kb", readonly: bool = False) -> Store:
        store = open_store(uri_for(backend, tmp_path, name), readonly=readonly)
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


@pytest.fixture
def store(make_store: MakeStore, hash_embedder: HashEmbedder) -> Store:
    s = make_store()
    s.set_model(hash_embedder.name, hash_embedder.revision, hash_embedder.dim)
    return s


def document(key: str, text: str | None = None) -> Document:
    question, body, series = TEXTS[key]
    return Document(
        doc_id=key,
        text=body if text is None else text,
        source=f"{key}.md",
        question=question,
        metadata={"series": series},
    )


def add(store: Store, embedder: HashEmbedder, keys: list[str]) -> None:
    """Store the named articles as one batch, one passage each."""
    docs, passages = [], []
    for key in keys:
        doc = document(key)
        docs.append((doc, f"hash-{key}-{doc.text}"))
        passages.append(Passage(key, 0, doc.text))
    store.add(docs, passages, embedder.embed([p.text for p in passages]))
