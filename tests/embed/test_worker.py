"""Embedding in a child process: same vectors, the child's errors raised here, a clean exit."""

from __future__ import annotations

import select
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import answerdb
import answerdb.db
import answerdb.ingest.embedding as ingest_embedding
from answerdb.embed import STATIC_MODEL, Embedder
from answerdb.embed.worker import ProcessEmbedder
from answerdb.store import open_store
from answerdb.types import Document

TEXTS = ["How do I reverse a list in Python?", "Tomatoes need full sun.", "HNSW graphs"]


@pytest.fixture
def child(static_model: Embedder) -> Iterator[ProcessEmbedder]:
    embedder = ProcessEmbedder(static_model)
    wait_loaded(embedder)
    yield embedder
    embedder.close()


def wait_loaded(embedder: ProcessEmbedder, timeout: float = 30.0) -> None:
    """Until the child has loaded its model, texts are embedded in this process."""
    deadline = time.monotonic() + timeout
    while embedder._child is not None and not embedder._loaded(embedder._child):
        assert time.monotonic() < deadline, "the child did not load the model"
        time.sleep(0.01)


def test_texts_go_to_the_child_once_it_has_loaded_the_model(
    static_model: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[int] = []
    remote = ProcessEmbedder._remote

    def counted(self: ProcessEmbedder, child: Any, texts: list[str]) -> Any:
        asked.append(len(texts))
        return remote(self, child, texts)

    monkeypatch.setattr(ProcessEmbedder, "_remote", counted)
    embedder = ProcessEmbedder(static_model)
    try:
        with monkeypatch.context() as still_loading:
            still_loading.setattr(select, "select", lambda *args: ([], [], []))
            assert np.array_equal(embedder.embed(TEXTS), static_model.embed(TEXTS))
        assert asked == []  # embedded here while the child loads
        wait_loaded(embedder)
        assert np.array_equal(embedder.embed(TEXTS), static_model.embed(TEXTS))
        assert asked == [3]
    finally:
        embedder.close()


def test_the_child_gives_the_models_own_vectors(
    child: ProcessEmbedder, static_model: Embedder
) -> None:
    assert (child.name, child.revision, child.dim) == (
        static_model.name,
        static_model.revision,
        static_model.dim,
    )
    assert np.array_equal(child.embed(TEXTS), static_model.embed(TEXTS))
    assert np.array_equal(child.embed_query(TEXTS[0]), static_model.embed_query(TEXTS[0]))


def test_an_error_in_the_child_is_raised_here_and_the_child_goes_on(
    child: ProcessEmbedder,
) -> None:
    with pytest.raises(AttributeError):
        child.embed([None])  # type: ignore[list-item]
    assert child.embed(TEXTS).shape == (3, 256)


def test_a_dead_child_leaves_the_model_to_this_process_with_a_warning(
    child: ProcessEmbedder, static_model: Embedder, caplog: pytest.LogCaptureFixture
) -> None:
    assert child._child is not None
    child._child.kill()
    child._child.wait()
    assert np.array_equal(child.embed(TEXTS), static_model.embed(TEXTS))
    assert "embedding process (minilm-static-256) stopped" in caplog.text
    assert "goes on in this process" in caplog.text and child._child is None


def test_a_child_that_cannot_start_leaves_the_model_to_this_process(
    static_model: Embedder, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(sys, "executable", "/nonexistent/python")
    embedder = ProcessEmbedder(static_model)
    assert np.array_equal(embedder.embed(TEXTS), static_model.embed(TEXTS))
    assert "/nonexistent/python" in caplog.text
    embedder.close()


def test_close_lets_the_child_exit(static_model: Embedder) -> None:
    embedder = ProcessEmbedder(static_model)
    wait_loaded(embedder)
    process = embedder._child
    embedder.embed(TEXTS)
    embedder.close()
    assert process is not None and process.returncode == 0
    assert embedder.embed(TEXTS).shape == (3, 256)  # in this process now


def test_a_large_ingest_with_the_static_model_embeds_in_a_child(
    tmp_path: Path, static_model: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[ProcessEmbedder] = []

    class Counted(ProcessEmbedder):
        def __init__(self, embedder: Embedder) -> None:
            super().__init__(embedder)
            started.append(self)
            self.process = self._child

    monkeypatch.setattr(ingest_embedding, "ProcessEmbedder", Counted)
    docs = [Document(doc_id=f"d{i}", text=f"{t} ({i})", source="x") for i, t in enumerate(TEXTS)]
    vectors = {}
    for limit in (10**9, 1):  # in this process, then in a child
        monkeypatch.setattr(ingest_embedding, "PROCESS_CHARS", limit)
        with answerdb.open(tmp_path / f"kb-{limit}", model=STATIC_MODEL) as db:
            assert db.add(docs).passages == 3
        vectors[limit] = first_vectors(tmp_path / f"kb-{limit}", docs)
    assert len(started) == 1 and started[0]._child is None  # closed
    assert started[0].process is not None and started[0].process.returncode == 0
    assert np.array_equal(vectors[1], vectors[10**9])


def test_ingest_starts_the_child_before_it_reads_the_files(
    tmp_path: Path, static_model: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    events: list[str] = []

    class Noted(ProcessEmbedder):
        def __init__(self, embedder: Embedder) -> None:
            events.append("child")
            super().__init__(embedder)

    read = answerdb.db.read_path

    def noted_read(file: Path, base: Path) -> list[Document]:
        events.append("read")
        return read(file, base)

    monkeypatch.setattr(ingest_embedding, "ProcessEmbedder", Noted)
    monkeypatch.setattr(answerdb.db, "read_path", noted_read)
    monkeypatch.setattr(ingest_embedding, "PROCESS_CHARS", 10)  # bytes of files, here
    docs = tmp_path / "docs"
    docs.mkdir()
    for i, text in enumerate(TEXTS):
        (docs / f"{i}.txt").write_text(text + "\n", encoding="utf-8")
    with answerdb.open(tmp_path / "kb", model=STATIC_MODEL) as db:
        assert db.ingest([docs]).passages == 3
    assert events == ["child", "read", "read", "read"]


def test_an_ingest_embeds_batches_itself_while_the_child_is_behind(
    tmp_path: Path, static_model: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    here: list[int] = []

    class Slow(ProcessEmbedder):
        def __init__(self, embedder: Embedder) -> None:
            super().__init__(embedder)
            wait_loaded(self)  # else the first batches are all embedded here, as it loads

        def _remote(self, child: Any, texts: list[str]) -> Any:
            time.sleep(0.05)  # a child slower than the writes: this process has time to spare
            return super()._remote(child, texts)

        def embed_here(self, texts: Any) -> Any:
            here.append(len(texts))
            return super().embed_here(texts)

    monkeypatch.setattr(ingest_embedding, "ProcessEmbedder", Slow)
    monkeypatch.setattr(ingest_embedding, "PROCESS_CHARS", 1)
    monkeypatch.setattr(ingest_embedding, "PROCESS_BATCH_PASSAGES", 2)
    docs = [Document(doc_id=f"d{i}", text=f"{TEXTS[i % 3]} ({i})", source="x") for i in range(40)]
    with answerdb.open(tmp_path / "kb", model=STATIC_MODEL) as db:
        assert db.add(docs).passages == 40
    stored = first_vectors(tmp_path / "kb", docs)
    assert 0 < sum(here) < 40  # the child embedded the rest
    # Each passage's own vector, within int8 rounding, whichever process embedded it.
    assert np.allclose(stored, static_model.embed([d.text for d in docs]), atol=0.01)


def first_vectors(path: Path, docs: list[Document]) -> np.ndarray:
    """The stored vector of each document's first passage, read through the Store contract."""
    store = open_store(path, readonly=True)
    try:
        return np.stack([store.passage_vectors(d.doc_id)[0] for d in docs])
    finally:
        store.close()
