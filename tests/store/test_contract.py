"""The Store contract: every test here runs against every backend (embedded, Milvus Lite)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from answerdb.errors import InputError, StoreError
from answerdb.store import open_store
from answerdb.store.base import Store
from answerdb.types import Document, Passage

from ..conftest import HashEmbedder
from .conftest import TEXTS, MakeStore, add, document, uri_for


def test_new_store_records_the_model(make_store: MakeStore) -> None:
    store = make_store()
    assert store.model() == {}
    store.set_model("test-hash", "1", 64)
    assert store.model() == {"model": "test-hash", "revision": "1", "dim": "64"}


def test_reopen_sees_everything(
    store: Store, make_store: MakeStore, hash_embedder: HashEmbedder
) -> None:
    add(store, hash_embedder, ["cv", "rag"])
    store.close()
    again = make_store()
    assert again.stats()["documents"] == 2
    assert again.model()["model"] == "test-hash"
    assert again.keyword_search("retrieval", 5)[0].doc_id == "rag"
    query = hash_embedder.embed_query("object detection boxes")
    assert again.vector_search(query, 1)[0].doc_id == "cv"


def test_vector_search_ranks_by_inner_product(store: Store, hash_embedder: HashEmbedder) -> None:
    add(store, hash_embedder, ["cv", "rag", "hnsw"])
    query = hash_embedder.embed_query("layered graph index nearest neighbour")
    hits = store.vector_search(query, 3)
    assert hits[0].doc_id == "hnsw"
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    exact = float(hash_embedder.embed([TEXTS["hnsw"][1]])[0] @ query)
    assert hits[0].score == pytest.approx(exact, abs=0.02)
    assert hits[0].heading == "What is HNSW?"
    assert hits[0].metadata == {"series": "Vector databases"}


def test_keyword_search_stems_and_weights_headings(
    store: Store, hash_embedder: HashEmbedder
) -> None:
    add(store, hash_embedder, ["cv", "rag", "hnsw"])
    assert store.keyword_search("detecting", 5)[0].doc_id == "cv"  # porter: detect
    # Only stop words, or FTS5 operators: nothing to rank by (no hits scored about 0).
    assert store.keyword_search("what is", 5) == []
    assert store.keyword_search("AND OR NOT", 5) == []
    assert store.keyword_search("!!!", 5) == []
    assert store.keyword_search("retrieval", 0) == []


def test_keyword_search_keeps_code_and_compound_tokens_together(
    store: Store, hash_embedder: HashEmbedder
) -> None:
    texts = {
        "joined": "Call os.path.join to build a file name.",
        "apart": "The os module gives each path; a path is text.",
        "hyphen": "IL-6 rises in the blood.",
        "spread": "Patients with IL receptors: 6 of them, IL levels rose.",
    }
    docs = [(Document(doc_id=k, text=t, source=f"{k}.md"), f"h-{k}") for k, t in texts.items()]
    passages = [Passage(k, 0, t) for k, t in texts.items()]
    store.add(docs, passages, hash_embedder.embed(list(texts.values())))
    # "apart" has more of both words; the compound itself is only in the first hit.
    assert [h.doc_id for h in store.keyword_search("os.path", 2)] == ["joined", "apart"]
    assert store.keyword_search("what raises IL-6?", 1)[0].doc_id == "hyphen"


def test_documents_and_their_passages(store: Store, hash_embedder: HashEmbedder) -> None:
    doc = document("rag", text="First part. " * 5000)  # longer than one Milvus VARCHAR
    passages = [Passage("rag", i, f"passage {i} about retrieval") for i in range(3)]
    store.add([(doc, "h-long")], passages, hash_embedder.embed([p.text for p in passages]))
    found = store.document("rag")
    assert found is not None and found.text == doc.text and found.question == "What is RAG?"
    assert store.document("nope") is None
    assert [d.doc_id for d in store.documents()] == ["rag"]
    assert [p.text for p in store.passages("rag")] == [p.text for p in passages]
    vectors = store.passage_vectors("rag")
    assert vectors.shape == (3, 64) and vectors.dtype == np.float32
    expected = hash_embedder.embed([p.text for p in passages])
    assert np.abs(vectors - expected).max() < 0.01
    assert store.passage_vectors("nope").shape[0] == 0
    assert store.has_hash("h-long") and not store.has_hash("h-other")
    assert store.stored_hashes(["h-other", "h-long"]) == {"h-long"}
    assert store.existing_ids(["rag", "cv"]) == {"rag"}


def test_neighbours_are_a_sources_documents_in_the_order_added(
    store: Store, hash_embedder: HashEmbedder
) -> None:
    def faq(n: int, source: str = "faq.md") -> Document:
        return Document(doc_id=f"q{n}", text=f"Answer {n}.", source=source, question=f"Q{n}?")

    # One file's questions in two batches, another file's between them.
    for batch in ([faq(1), faq(2), faq(9, "other.md")], [faq(3), faq(4), faq(5)]):
        passages = [Passage(d.doc_id, 0, d.text) for d in batch]
        store.add(
            [(d, f"h-{d.doc_id}") for d in batch],
            passages,
            hash_embedder.embed([d.text for d in batch]),
        )
    placed = [(place, d.doc_id) for place, d in store.neighbours("q3", 2)]
    assert sorted(placed) == [(-2, "q1"), (-1, "q2"), (1, "q4"), (2, "q5")]
    assert next(d for _, d in store.neighbours("q3", 1) if d.doc_id == "q2").question == "Q2?"
    assert store.neighbours("q9", 3) == [] and store.neighbours("nope", 3) == []
    store.delete(["q4"])
    assert [d.doc_id for p, d in sorted(store.neighbours("q3", 1))] == ["q2", "q5"]


def test_replacing_a_document_keeps_one_copy(store: Store, hash_embedder: HashEmbedder) -> None:
    add(store, hash_embedder, ["cv"])
    add(store, hash_embedder, ["cv"])
    new = Document(doc_id="cv", text="Segmentation labels pixels.", source="cv.md")
    store.add([(new, "hash-new")], [Passage("cv", 0, new.text)], hash_embedder.embed([new.text]))
    assert store.stats()["documents"] == 1
    hits = store.vector_search(hash_embedder.embed_query("object"), 10)
    assert [h.text for h in hits] == ["Segmentation labels pixels."]
    assert store.keyword_search("boxes", 5) == []
    assert store.has_hash("hash-new") and not store.has_hash(f"hash-cv-{TEXTS['cv'][1]}")


def test_delete_is_immediate_and_compact_keeps_the_rest(
    store: Store, hash_embedder: HashEmbedder
) -> None:
    add(store, hash_embedder, ["cv", "rag", "hnsw"])
    assert store.delete(["rag", "nope"]) == 1
    query = hash_embedder.embed_query("retrieval augmented generation")
    assert "rag" not in {h.doc_id for h in store.vector_search(query, 10)}
    assert store.keyword_search("retrieval", 10) == []
    assert store.document("rag") is None and store.passage_vectors("rag").shape[0] == 0
    assert store.compact()["rows_after"] == 2
    hits = store.vector_search(hash_embedder.embed_query("layered graph index"), 1)
    assert hits[0].doc_id == "hnsw"
    assert store.keyword_search("graph", 1)[0].doc_id == "hnsw"
    assert store.stats()["passages"] == 2


def test_reindex_keeps_results(store: Store, hash_embedder: HashEmbedder) -> None:
    add(store, hash_embedder, ["cv", "rag", "hnsw"])
    query = hash_embedder.embed_query("layered graph index")
    before = [h.doc_id for h in store.vector_search(query, 3)]
    store.reindex()
    assert [h.doc_id for h in store.vector_search(query, 3)] == before


def test_filters_apply_inside_retrieval(store: Store, hash_embedder: HashEmbedder) -> None:
    add(store, hash_embedder, ["cv", "rag", "hnsw"])
    query = hash_embedder.embed_query("layered graph index")
    hits = store.vector_search(query, 1, where={"series": "Computer vision"})
    assert [h.doc_id for h in hits] == ["cv"]
    assert store.keyword_search("graph", 5, where={"series": "Computer vision"}) == []
    with pytest.raises(InputError, match="unknown operator"):
        store.vector_search(query, 1, where={"series": {"$regex": "x"}})


FILTER_ROWS = [
    ("a", {"series": "Video AI", "tags": ["tracking", "video"], "year": 2021}),
    ("b", {"series": "Vector databases", "tags": ["hnsw"], "year": 2019}),
    ("c", {"series": "Video AI", "tags": [], "year": 2024, "draft": True}),
    ("d", {"series": 'Say "hi" \\ \u00e9t\u00e9', "year": 2019.5}),
]


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ({"series": "Video AI"}, ["a", "c"]),
        ({"tags": "hnsw"}, ["b"]),
        ({"tags": {"$in": ["video", "hnsw"]}}, ["a", "b"]),
        ({"year": {"$gte": 2021}}, ["a", "c"]),
        ({"year": {"$gt": 2019, "$lt": 2024}}, ["a", "d"]),
        ({"series": "Video AI", "year": {"$lt": 2022}}, ["a"]),
        ({"doc_id": "b"}, ["b"]),
        ({"doc_id": {"$in": ["a", "d"]}}, ["a", "d"]),
        ({"source": "c.md"}, ["c"]),
        ({"draft": True}, ["c"]),
        ({"series": {"$ne": "Video AI"}}, ["b", "d"]),
        ({"series": 'Say "hi" \\ \u00e9t\u00e9'}, ["d"]),
        ({"missing": "x"}, []),
    ],
)
def test_where_means_the_same_on_every_backend(
    store: Store, where: dict[str, object], expected: list[str]
) -> None:
    docs = [(Document(d, f"text {d}", f"{d}.md", metadata=m), f"h{d}") for d, m in FILTER_ROWS]
    passages = [Passage(d, 0, f"text {d}") for d, _ in FILTER_ROWS]
    vectors = np.tile(np.eye(64, dtype=np.float32)[:1], (len(passages), 1))
    store.add(docs, passages, vectors)
    hits = store.vector_search(vectors[0], 10, where=where)
    assert sorted(h.doc_id for h in hits) == expected
    assert sorted(h.doc_id for h in store.keyword_search("text", 10, where=where)) == expected


def test_mismatched_batch_is_refused(store: Store) -> None:
    with pytest.raises(InputError, match="2 passages but 1 vectors"):
        store.add([], [Passage("a", 0, "x"), Passage("a", 1, "y")], np.zeros((1, 64), np.float32))


def test_readonly_store_refuses_writes(
    store: Store, make_store: MakeStore, hash_embedder: HashEmbedder
) -> None:
    add(store, hash_embedder, ["cv"])
    reader = make_store(readonly=True)
    assert reader.stats()["documents"] == 1
    with pytest.raises(StoreError, match="read-only"):
        reader.delete(["cv"])


def test_readonly_open_of_a_missing_store(make_store: MakeStore) -> None:
    with pytest.raises(InputError, match="not a knowledge base"):
        make_store("nothing", readonly=True)


CROWD = {
    "tips": "graph index search tips",
    "tricks": "graph index search tricks",
    "notes": "graph index search notes",
    "fruit": "bananas are yellow fruit",
}


def test_crowding_is_the_mean_similarity_of_the_nearest_live_passages(
    store: Store, hash_embedder: HashEmbedder
) -> None:
    docs = [(Document(d, text, f"{d}.md"), f"h{d}") for d, text in CROWD.items()]
    vectors = hash_embedder.embed(list(CROWD.values()))
    store.add(docs, [Passage(d, 0, text) for d, text in CROWD.items()], vectors)
    rows = [store.passages(d)[0].row for d in CROWD]
    crowding = store.crowding(rows, 2)
    sims = vectors @ vectors.T
    assert crowding[0] == pytest.approx((sims[0, 1] + sims[0, 2]) / 2, abs=0.02)
    assert crowding[0] > 0.7 and crowding[3] < 0.3  # three near copies, and a loner
    assert store.crowding(rows[:1] * 3, 2).tolist() == [crowding[0]] * 3
    store.delete(["tricks", "notes"])
    assert store.crowding(rows[:1], 2)[0] == pytest.approx(sims[0, 3], abs=0.02)


def test_bulk_is_a_context_on_every_backend(store: Store, hash_embedder: HashEmbedder) -> None:
    with store.bulk(passages=3) as grow:
        add(store, hash_embedder, ["cv", "rag", "hnsw"])
        assert grow is None or isinstance(grow(), bool)
    assert store.stats()["documents"] == 3


def test_check_answers_or_says_the_backend_cannot(
    store: Store, hash_embedder: HashEmbedder
) -> None:
    add(store, hash_embedder, ["cv"])
    try:
        report = store.check()
    except InputError as exc:
        assert "not supported on this backend" in str(exc)
        with pytest.raises(InputError, match="not supported on this backend"):
            store.repair()
    else:
        assert report.ok


def test_a_store_that_is_not_there_is_not_created_unless_asked(
    backend: str, tmp_path: Path
) -> None:
    uri = uri_for(backend, tmp_path, "absent")
    with pytest.raises(InputError, match="not a knowledge base"):
        open_store(uri, create=False)
    assert not (tmp_path / "absent").exists()
