"""Embedded-only behaviour: quantisation, the vector file, the ANN path, locks.

What every backend must do is in test_contract.py.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from answerdb.errors import LockedError
from answerdb.store.embedded.check import check_store
from answerdb.store.embedded.lock import WriterLock
from answerdb.store.embedded.store import EmbeddedStore
from answerdb.types import Document, Passage

from ...conftest import HashEmbedder
from ..conftest import TEXTS, add


@pytest.fixture
def store(tmp_path: Path, hash_embedder: HashEmbedder) -> EmbeddedStore:
    s = EmbeddedStore(tmp_path / "kb")
    s.set_model(hash_embedder.name, hash_embedder.revision, hash_embedder.dim)
    return s


@pytest.mark.parametrize("dtype", ["int8", "float16", "float32"])
def test_quantised_round_trip_keeps_ranking(
    tmp_path: Path, hash_embedder: HashEmbedder, dtype: str
) -> None:
    store = EmbeddedStore(tmp_path / dtype, dtype=dtype)
    store.set_model(hash_embedder.name, hash_embedder.revision, hash_embedder.dim)
    add(store, hash_embedder, ["cv", "rag", "hnsw"])
    query = hash_embedder.embed_query("layered graph index nearest neighbour")
    hits = store.vector_search(query, 3)
    assert hits[0].doc_id == "hnsw"
    exact = float(hash_embedder.embed([TEXTS["hnsw"][1]])[0] @ query)
    assert hits[0].score == pytest.approx(exact, abs=0.02)


def test_failed_batch_leaves_nothing(
    store: EmbeddedStore, hash_embedder: HashEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    add(store, hash_embedder, ["cv"])

    def broken(*args: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(store.catalog, "insert_passages", broken)
    with pytest.raises(RuntimeError):
        add(store, hash_embedder, ["rag", "hnsw"])
    monkeypatch.undo()
    assert store.stats()["documents"] == 1
    assert store.keyword_search("retrieval", 5) == []
    add(store, hash_embedder, ["rag"])  # the uncommitted vector tail is overwritten
    assert store.stats()["vector_rows"] == 2
    assert (
        store.vector_search(hash_embedder.embed_query("retrieval augmented"), 1)[0].doc_id == "rag"
    )


def test_crash_tail_in_vector_file_is_ignored(
    store: EmbeddedStore, hash_embedder: HashEmbedder
) -> None:
    add(store, hash_embedder, ["cv"])
    with open(store.vectors.path, "ab") as fh:
        fh.write(b"\x7f" * store.vectors.row_bytes * 3)
    reopened = EmbeddedStore(store.path)
    assert len(reopened.vector_search(hash_embedder.embed_query("object"), 10)) == 1


def test_compact_frees_the_space_of_deleted_rows(
    store: EmbeddedStore, hash_embedder: HashEmbedder
) -> None:
    add(store, hash_embedder, ["cv", "rag", "hnsw"])
    assert store.delete(["rag", "nope"]) == 1
    result = store.compact()
    assert (result["rows_before"], result["rows_after"]) == (3, 2)
    assert store.stats()["vector_bytes"] == 2 * store.vectors.row_bytes
    hits = store.vector_search(hash_embedder.embed_query("layered graph index"), 1)
    assert hits[0].doc_id == "hnsw"
    assert store.keyword_search("graph", 1)[0].doc_id == "hnsw"


def test_ann_path_with_filters_and_deletes(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    store = EmbeddedStore(tmp_path / "ann", exact_limit=0)
    store.set_model("random", "1", 32)
    vectors = rng.normal(size=(600, 32)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    docs = [
        (Document(doc_id=f"d{i}", text=f"t{i}", source="x", metadata={"even": i % 2 == 0}), f"h{i}")
        for i in range(600)
    ]
    store.add(docs, [Passage(f"d{i}", 0, f"t{i}") for i in range(600)], vectors)
    assert store.vector_search(vectors[10], 1)[0].doc_id == "d10"
    odd = store.vector_search(vectors[10], 5, where={"even": False})
    assert odd and all(int(h.doc_id[1:]) % 2 == 1 for h in odd)
    store.delete(["d10"])
    assert "d10" not in {h.doc_id for h in store.vector_search(vectors[10], 5)}
    store.reindex()
    reopened = EmbeddedStore(tmp_path / "ann", exact_limit=0)
    assert reopened.ann.rows == 600
    assert reopened.vector_search(vectors[20], 1)[0].doc_id == "d20"


def test_a_store_searched_exactly_builds_no_graph_until_it_outgrows_the_scan(
    tmp_path: Path,
) -> None:
    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(90, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)

    def add_rows(store: EmbeddedStore, rows: range) -> None:
        docs = [(Document(doc_id=f"d{i}", text=f"t{i}", source="x"), f"h{i}") for i in rows]
        store.add(
            docs, [Passage(f"d{i}", 0, f"t{i}") for i in rows], vectors[rows.start : rows.stop]
        )

    store = EmbeddedStore(tmp_path / "kb", exact_limit=50)
    store.set_model("random", "1", 16)
    add_rows(store, range(0, 40))
    assert store.ann.rows == 0 and store.vector_search(vectors[7], 1)[0].doc_id == "d7"
    assert any("searched exactly" in f.message for f in check_store(store).findings)
    add_rows(store, range(40, 90))  # past the limit: the graph takes every row at once
    assert store.ann.rows == 90 and store.vector_search(vectors[70], 1)[0].doc_id == "d70"
    store.close()
    assert EmbeddedStore(tmp_path / "kb", readonly=True, exact_limit=50).ann.rows == 90


def test_second_writer_gets_a_clear_locked_error(
    store: EmbeddedStore, hash_embedder: HashEmbedder
) -> None:
    other = EmbeddedStore(store.path, lock_timeout=0.2)
    with (
        WriterLock(store.path / "writer.lock", 1.0),
        pytest.raises(LockedError, match="another process is writing"),
    ):
        add(other, hash_embedder, ["cv"])


def test_a_bulk_load_follows_a_compaction_made_between_its_batches(
    store: EmbeddedStore, hash_embedder: HashEmbedder, tmp_path: Path
) -> None:
    add(store, hash_embedder, ["cv", "rag"])
    with store.bulk():
        other = EmbeddedStore(tmp_path / "kb")
        other.delete(["cv"])
        other.compact()  # rows renumbered, in new files
        other.close()
        add(store, hash_embedder, ["hnsw"])
    query = hash_embedder.embed_query("layered graph index nearest neighbour")
    assert [h.doc_id for h in store.vector_search(query, 3)] == ["hnsw", "rag"]
    store.close()
    reopened = EmbeddedStore(tmp_path / "kb")
    assert check_store(reopened).ok
    assert reopened.stats()["vector_rows"] == 2
    reopened.close()


def test_crowding_through_the_graph_matches_the_exact_scan(
    tmp_path: Path, hash_embedder: HashEmbedder
) -> None:
    words = ["graph", "index", "search", "vector", "banana", "yellow", "fruit", "query"]
    texts = [" ".join([*words[i % 8 : i % 8 + 3], f"w{i}"]) for i in range(40)]
    docs = [(Document(f"d{i}", t, "t"), f"h{i}") for i, t in enumerate(texts)]
    passages = [Passage(f"d{i}", 0, t) for i, t in enumerate(texts)]
    scanned = EmbeddedStore(tmp_path / "exact")
    walked = EmbeddedStore(tmp_path / "graph", exact_limit=0)
    for store in (scanned, walked):
        store.set_model(hash_embedder.name, hash_embedder.revision, hash_embedder.dim)
        store.add(docs, passages, hash_embedder.embed(texts))
    rows = list(range(40))
    assert walked.ann.rows == 40 and scanned.ann.rows == 0
    np.testing.assert_allclose(walked.crowding(rows, 3), scanned.crowding(rows, 3), atol=1e-5)


def _drop_passage_metadata(kb: Path) -> None:
    """Make the catalog as stores were before passages carried their document's metadata."""
    import sqlite3

    db = sqlite3.connect(kb / "catalog.sqlite")
    db.execute("ALTER TABLE passages DROP COLUMN metadata")
    db.commit()
    db.close()


def test_hits_read_metadata_from_catalogs_made_before_passages_held_it(
    tmp_path: Path, hash_embedder: HashEmbedder
) -> None:
    store = EmbeddedStore(tmp_path / "kb")
    store.set_model(hash_embedder.name, hash_embedder.revision, hash_embedder.dim)
    add(store, hash_embedder, ["cv", "rag"])
    store.close()
    _drop_passage_metadata(tmp_path / "kb")
    query = hash_embedder.embed_query("retrieval augmented generation")

    reader = EmbeddedStore(tmp_path / "kb", readonly=True)  # as it is: through the document
    assert {h.doc_id: h.metadata for h in reader.vector_search(query, 2)} == {
        "cv": {"series": "Computer vision"},
        "rag": {"series": "Retrieval-augmented generation"},
    }
    reader.close()

    writer = EmbeddedStore(tmp_path / "kb")  # gains the column; older rows read through
    add(writer, hash_embedder, ["hnsw"])
    hits = {h.doc_id: h.metadata for h in writer.vector_search(query, 3)}
    assert hits["rag"] == {"series": "Retrieval-augmented generation"}
    assert hits["hnsw"] == {"series": "Vector databases"}
    assert check_store(writer).ok


def test_a_replaced_document_s_hits_carry_its_new_metadata(
    store: EmbeddedStore, hash_embedder: HashEmbedder
) -> None:
    add(store, hash_embedder, ["cv"])
    doc = Document("cv", TEXTS["cv"][1], source="s", metadata={"series": "moved"})
    store.add([(doc, "hash-new")], [Passage("cv", 0, doc.text)], hash_embedder.embed([doc.text]))
    [hit] = store.vector_search(hash_embedder.embed_query("object detection"), 1)
    assert hit.metadata == {"series": "moved"}
