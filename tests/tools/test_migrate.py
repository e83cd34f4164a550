"""`migrate`: embedded → Milvus Lite → embedded keeps every document, passage and vector."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pymilvus", reason="Milvus tests need the milvus extra")

from answerdb.errors import InputError, StoreError
from answerdb.store import open_store
from answerdb.store.base import Store
from answerdb.tools import migrate as migrate_module
from answerdb.tools.migrate import migrate
from answerdb.types import Document, Passage

from ..conftest import HashEmbedder


def build(path: Path, embedder: HashEmbedder, count: int = 30) -> None:
    store = open_store(path)
    store.set_model(embedder.name, embedder.revision, embedder.dim)
    docs, passages = [], []
    for i in range(count):
        doc = Document(f"d{i}", f"article {i} " * 40, f"d{i}.md", title=f"T{i}", metadata={"n": i})
        docs.append((doc, f"h{i}"))
        passages += [
            Passage(doc.doc_id, o, f"passage {o} of article {i}") for o in range(i % 3 + 1)
        ]
    store.add(docs, passages, embedder.embed([p.text for p in passages]))
    store.close()


def snapshot(store: Store) -> dict[str, tuple[Document | None, list[str], np.ndarray]]:
    return {
        d.doc_id: (
            store.document(d.doc_id),
            [p.text for p in store.passages(d.doc_id)],
            store.passage_vectors(d.doc_id),
        )
        for d in store.documents()
    }


def test_round_trip_keeps_everything(tmp_path: Path, hash_embedder: HashEmbedder) -> None:
    build(tmp_path / "kb", hash_embedder)
    lite = f"milvus-lite:{tmp_path / 'm.db'}#copy"
    seen: list[tuple[int, int]] = []
    report = migrate(tmp_path / "kb", lite, progress=lambda d, t: seen.append((d, t)))
    assert (report.copied, report.documents, report.passages) == (30, 30, 60)
    assert seen[-1] == (30, 30) and report.sampled == 30
    migrate(lite, tmp_path / "back")
    stores = [open_store(tmp_path / "kb", readonly=True), open_store(tmp_path / "back")]
    first, last = (snapshot(s) for s in stores)
    assert first.keys() == last.keys()
    for doc_id, (doc, texts, vectors) in first.items():
        assert last[doc_id][0] == doc and last[doc_id][1] == texts
        assert np.array_equal(last[doc_id][2], vectors)  # int8 → float32 → int8 is exact
    assert stores[1].model() == stores[0].model()
    for store in stores:
        store.close()
    assert not (tmp_path / "back.migrating").exists()


def test_interrupted_migrate_shows_nothing_and_resumes(
    tmp_path: Path, hash_embedder: HashEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    build(tmp_path / "kb", hash_embedder, count=40)
    monkeypatch.setattr(migrate_module, "BATCH_PASSAGES", 10)
    real = migrate_module._write
    calls = []

    def fail_third(staging: Store, batch: migrate_module.Batch) -> int:
        calls.append(len(batch))
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(staging, batch)

    monkeypatch.setattr(migrate_module, "_write", fail_third)
    lite = f"milvus-lite:{tmp_path / 'm.db'}#copy"
    with pytest.raises(KeyboardInterrupt):
        migrate(tmp_path / "kb", lite)
    with pytest.raises(InputError, match="not a knowledge base"):
        open_store(lite, readonly=True).close()  # nothing at DST yet
    monkeypatch.setattr(migrate_module, "_write", real)
    report = migrate(tmp_path / "kb", lite)
    assert report.skipped == sum(calls[:2]) and report.copied == 40 - report.skipped
    copy = open_store(lite, readonly=True)
    assert copy.stats()["documents"] == 40
    copy.close()


def test_existing_destination_and_bad_uris_are_refused(
    tmp_path: Path, hash_embedder: HashEmbedder
) -> None:
    build(tmp_path / "kb", hash_embedder, count=3)
    build(tmp_path / "other", hash_embedder, count=1)
    with pytest.raises(InputError, match="already holds a knowledge base"):
        migrate(tmp_path / "kb", tmp_path / "other")
    with pytest.raises(InputError, match="same store"):
        migrate(tmp_path / "kb", tmp_path / "kb")
    with pytest.raises(InputError, match=r"must end in \.db"):
        migrate(tmp_path / "kb", "milvus-lite:x.sqlite")
    with pytest.raises(InputError, match="not a knowledge base"):
        migrate(tmp_path / "none", tmp_path / "new")
    with pytest.raises(StoreError, match="cannot reach Milvus"):
        migrate(tmp_path / "kb", "milvus://127.0.0.1:1/kb")
    assert not (tmp_path / "new").exists()
