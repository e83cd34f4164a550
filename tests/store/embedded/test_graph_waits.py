"""Rows left to `reindex`: a bulk load that does not finish the graph, and what searches it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from answerdb.store.embedded.check import check_store
from answerdb.store.embedded.search import exact
from answerdb.store.embedded.store import EmbeddedStore
from answerdb.types import Document, Passage

ROWS, DIM, LIMIT = 300, 16, 50


@pytest.fixture
def vectors() -> np.ndarray:
    rng = np.random.default_rng(11)
    found = rng.normal(size=(ROWS, DIM)).astype(np.float32)
    return found / np.linalg.norm(found, axis=1, keepdims=True)


def add_rows(store: EmbeddedStore, vectors: np.ndarray, start: int, stop: int) -> None:
    docs = [
        (Document(doc_id=f"d{i}", text=f"t{i}", source="x", metadata={"odd": i % 2}), f"h{i}")
        for i in range(start, stop)
    ]
    passages = [Passage(f"d{i}", 0, f"t{i}") for i in range(start, stop)]
    store.add(docs, passages, vectors[start:stop])


def waiting_store(path: Path, vectors: np.ndarray) -> EmbeddedStore:
    """100 rows in the graph, then 200 from a bulk load that leaves them to reindex."""
    store = EmbeddedStore(path, exact_limit=LIMIT)
    store.set_model("random", "1", DIM)
    add_rows(store, vectors, 0, 100)
    with store.bulk(graph_waits=True) as grow:
        add_rows(store, vectors, 100, 200)
        assert not grow()  # the waits embed instead
        add_rows(store, vectors, 200, ROWS)
    return store


def best_rows(store: EmbeddedStore, query: np.ndarray, rows: np.ndarray) -> list[int]:
    return [row for row, _ in exact(store.vectors, query, rows, 10, ROWS)]


def test_rows_left_to_reindex_are_searched_exactly_beside_the_graph(
    tmp_path: Path, vectors: np.ndarray
) -> None:
    store = waiting_store(tmp_path / "kb", vectors)
    assert store.ann.rows == 100 and store.catalog.graph_waits()
    assert store.stats()["index_waiting_rows"] == 200
    everything = np.arange(ROWS)
    for i in (3, 150, 299):  # a row in the graph, and two it waits for
        hits = store.vector_search(vectors[i], 10)
        assert hits[0].doc_id == f"d{i}"
        assert [h.row for h in hits] == best_rows(store, vectors[i], everything)
    odd = store.vector_search(vectors[151], 10, where={"odd": 1})
    assert [h.row for h in odd] == best_rows(store, vectors[151], everything[1::2])
    store.delete(["d150"])  # a waiting row: gone from results at once
    assert store.vector_search(vectors[150], 1)[0].doc_id != "d150"


def test_readers_scan_waiting_rows_until_reindex_then_map_the_saved_graph(
    tmp_path: Path, vectors: np.ndarray
) -> None:
    waiting_store(tmp_path / "kb", vectors).close()
    reader = EmbeddedStore(tmp_path / "kb", readonly=True, exact_limit=LIMIT)
    assert reader.vector_search(vectors[250], 1)[0].doc_id == "d250"
    assert reader.ann.rows == 100  # it did not build the rest itself
    finding = next(f for f in check_store(reader).findings if f.part == "index")
    assert finding.level == "ok" and "200 newer rows wait for `answerdb reindex`" in finding.message

    writer = EmbeddedStore(tmp_path / "kb", exact_limit=LIMIT)
    writer.reindex()
    assert writer.ann.rows == ROWS and not writer.catalog.graph_waits()
    assert reader.vector_search(vectors[250], 1)[0].doc_id == "d250"
    assert reader.ann.rows == ROWS and reader.ann.saved_rows == ROWS  # mapped, not rebuilt
    assert check_store(reader).ok


def test_compaction_builds_the_whole_graph_of_a_store_that_waited(
    tmp_path: Path, vectors: np.ndarray
) -> None:
    store = waiting_store(tmp_path / "kb", vectors)
    store.delete(["d7"])
    store.compact()
    assert store.ann.rows == ROWS - 1 and not store.catalog.graph_waits()
    assert store.stats()["index_waiting_rows"] == 0
    assert store.vector_search(vectors[200], 1)[0].doc_id == "d200"
