"""HNSW parameters recorded in the catalog; a mapped graph that grows; reindex and compact."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from answerdb.errors import InputError
from answerdb.store.embedded.store import EmbeddedStore
from answerdb.types import Document, IndexSettings, Passage

DIM = 8


def add(store: EmbeddedStore, first: int, vectors: np.ndarray) -> None:
    ids = [f"d{first + i}" for i in range(len(vectors))]
    docs = [(Document(doc_id=i, text=i, source="t"), i) for i in ids]
    store.add(docs, [Passage(i, 0, i) for i in ids], vectors)


def unit(n: int, seed: int) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((n, DIM)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def new_store(path: Path, **kwargs: object) -> EmbeddedStore:
    store = EmbeddedStore(path, exact_limit=0, **kwargs)  # type: ignore[arg-type]
    if not store.model():
        store.set_model("test", "r", DIM)
    return store


def test_settings_are_recorded_and_used_by_later_opens(tmp_path: Path) -> None:
    settings = IndexSettings(m=8, ef_construction=40, ef_search=32)
    new_store(tmp_path / "kb", index=settings).close()
    reopened = EmbeddedStore(tmp_path / "kb", readonly=True)
    assert reopened.index_settings == settings
    assert reopened.stats()["index_m"] == 8


def test_bad_settings_are_refused() -> None:
    with pytest.raises(InputError, match="index m must be an integer"):
        IndexSettings(m=0)


def test_a_mapped_graph_takes_new_batches(tmp_path: Path) -> None:
    first, second = unit(200, 1), unit(100, 2)
    store = new_store(tmp_path / "kb")
    add(store, 0, first)
    store.close()  # saves the graph; the next open maps it
    store = new_store(tmp_path / "kb")
    add(store, 200, second)
    assert store.ann.rows == 300
    assert store.vector_search(second[5], 1)[0].doc_id == "d205"
    assert store.vector_search(first[5], 1)[0].doc_id == "d5"


def test_delete_compact_and_reindex(tmp_path: Path) -> None:
    vectors = unit(300, 3)
    store = new_store(tmp_path / "kb")
    add(store, 0, vectors)
    store.delete(["d10"])
    assert all(h.doc_id != "d10" for h in store.vector_search(vectors[10], 5))
    result = store.compact()
    assert (result["rows_after"], result["bytes_freed"]) == (299, DIM)
    store.reindex()
    assert store.ann.rows == 299
    assert store.vector_search(vectors[11], 1)[0].doc_id == "d11"


def test_int8_scale_fits_the_first_batch(tmp_path: Path) -> None:
    vectors = unit(50, 4)  # 8-d unit vectors: components near ±0.9
    store = new_store(tmp_path / "kb")
    add(store, 0, vectors)
    assert float(store.catalog.meta("int8_scale") or 0) < 254
    assert store.vector_search(vectors[9], 1)[0].score == pytest.approx(1.0, abs=0.01)
    reopened = EmbeddedStore(tmp_path / "kb", readonly=True)
    assert reopened.vectors.scale == store.vectors.scale


def test_a_cached_filter_follows_commits(tmp_path: Path) -> None:
    vectors = unit(40, 5)
    store = new_store(tmp_path / "kb")
    add(store, 0, vectors[:30])
    where = {"doc_id": {"$gte": "d3"}}
    assert {h.doc_id for h in store.vector_search(vectors[35], 3, where=where)} <= {
        f"d{i}" for i in range(3, 30) if f"d{i}" >= "d3"
    }
    add(store, 30, vectors[30:])
    assert store.vector_search(vectors[35], 1, where=where)[0].doc_id == "d35"
    store.delete(["d35"])
    assert all(h.doc_id != "d35" for h in store.vector_search(vectors[35], 5, where=where))
