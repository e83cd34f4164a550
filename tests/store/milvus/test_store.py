"""Milvus-only behaviour: visibility without transactions, ids, expressions, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pymilvus", reason="Milvus tests need the milvus extra")

from answerdb.errors import InputError, ModelMismatchError, StoreError
from answerdb.store import StoreURI, open_store, parse_store_uri
from answerdb.store.milvus.rows import passage_id
from answerdb.store.milvus.store import CROWDING_TTL, MilvusStore
from answerdb.store.milvus.where_expr import where_expression
from answerdb.types import Passage

from ...conftest import HashEmbedder
from ..conftest import add


@pytest.fixture
def store(tmp_path: Path, hash_embedder: HashEmbedder) -> MilvusStore:
    s = MilvusStore(parse_store_uri(f"milvus-lite:{tmp_path / 'm.db'}#kb"))
    s.set_model(hash_embedder.name, hash_embedder.revision, hash_embedder.dim)
    return s


def test_failed_batch_leaves_nothing_visible_and_rewrites_cleanly(
    store: MilvusStore, hash_embedder: HashEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    add(store, hash_embedder, ["cv"])
    real = store.client.upsert

    def fail_on_heads(collection: str, rows: list[dict[str, object]]) -> object:
        if collection == store.docs:
            raise RuntimeError("network down")
        return real(collection, rows)

    monkeypatch.setattr(store.client, "upsert", fail_on_heads)
    with pytest.raises(RuntimeError):
        add(store, hash_embedder, ["rag", "hnsw"])
    monkeypatch.undo()
    assert store.stats()["documents"] == 1
    assert store.keyword_search("retrieval graph", 5) == []
    assert {h.doc_id for h in store.vector_search(hash_embedder.embed_query("graph"), 5)} == {"cv"}
    add(store, hash_embedder, ["rag", "hnsw"])  # the same ids: overwritten, not doubled
    assert store.stats()["passages"] == 3
    assert store.keyword_search("retrieval", 1)[0].doc_id == "rag"


def test_compact_removes_rows_no_document_points_at(
    store: MilvusStore, hash_embedder: HashEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    add(store, hash_embedder, ["cv"])
    monkeypatch.setattr(store.client, "upsert", _fail_for(store.docs, store.client.upsert))
    with pytest.raises(RuntimeError):
        add(store, hash_embedder, ["rag"])
    monkeypatch.undo()
    assert store.stats()["passages"] == 2  # the orphan is counted, never returned
    assert store.compact() == {"rows_before": 2, "rows_after": 1}


def _fail_for(collection: str, real: object) -> object:
    def upsert(name: str, rows: list[dict[str, object]]) -> object:
        if name == collection:
            raise RuntimeError("network down")
        return real(name, rows)  # type: ignore[operator]

    return upsert


def test_passage_ids_are_stable_and_distinct() -> None:
    assert passage_id("a", "h", 0) == passage_id("a", "h", 0)
    ids = {passage_id(d, h, o) for d in "ab" for h in ("h1", "h2") for o in range(3)}
    assert len(ids) == 12 and all(0 < i < 2**63 for i in ids)


def test_other_dimension_is_a_clear_error(store: MilvusStore) -> None:
    with pytest.raises(ModelMismatchError, match="holds 64-d vectors; the model gives 384-d"):
        store.set_model("other", "1", 384)
    with pytest.raises(InputError, match="32-d vectors for a 64-d store"):
        store.add([], [Passage("a", 0, "x")], np.zeros((1, 32), np.float32))


def test_where_expressions_escape_values() -> None:
    expr = where_expression({"series": 'a"b\\', "year": {"$gte": 2020}, "doc_id": {"$in": ["x"]}})
    assert expr == (
        '(meta["series"] == "a\\"b\\\\" or json_contains(meta["series"], "a\\"b\\\\"))'
        ' and (meta["year"] >= 2020) and ((doc_id == "x"))'
    )
    assert where_expression(None) == ""
    with pytest.raises(InputError, match="not a valid metadata key"):
        where_expression({'x"] or 1==1 or ["': 1})


def test_unreachable_server_is_a_clear_error() -> None:
    with pytest.raises(StoreError, match=r"cannot reach Milvus at http://127\.0\.0\.1:1"):
        open_store("milvus://127.0.0.1:1/kb")


def test_lite_file_is_not_created_by_a_reader(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not a knowledge base"):
        MilvusStore(StoreURI("milvus-lite", str(tmp_path / "none.db"), "kb"), readonly=True)
    assert not (tmp_path / "none.db").exists()


def test_crowding_is_kept_a_while_then_asked_again(
    store: MilvusStore, hash_embedder: HashEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    add(store, hash_embedder, ["cv", "rag", "hnsw"])
    rows = [store.passages(d)[0].row for d in ("cv", "rag", "hnsw")]
    first = store.crowding(rows, 2).tolist()
    searches: list[object] = []
    real = store.client.search

    def counted(*args: object, **kwargs: object) -> object:
        searches.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(store.client, "search", counted)
    assert store.crowding(rows, 2).tolist() == first and not searches
    store._crowded_since -= CROWDING_TTL + 1  # other processes may have written since
    assert store.crowding(rows, 2).tolist() == first and len(searches) == 1
