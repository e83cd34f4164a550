from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from answerdb.db import AnswerDB
from answerdb.embed import Embedder
from answerdb.errors import InputError, ModelMismatchError
from answerdb.retrieve.fusion import FusionSettings
from answerdb.store.embedded.hnsw import AnnIndex
from answerdb.store.embedded.lock import WriterLock
from answerdb.store.embedded.store import EXACT_LIMIT, EmbeddedStore
from answerdb.types import Document

from .conftest import HashEmbedder
from .kb import CAREERS, CAREERS_QUESTION


def small_db(
    path: Path, embedder: Embedder, exact_limit: int = EXACT_LIMIT, lock_timeout: float = 10.0
) -> AnswerDB:
    store = EmbeddedStore(path, exact_limit=exact_limit, lock_timeout=lock_timeout)
    return AnswerDB(store, model=embedder.name, embedder=embedder)


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")
    return folder / name


def test_ingest_reports_and_reingest_adds_nothing(
    tmp_path: Path, hash_embedder: HashEmbedder
) -> None:
    docs = tmp_path / "docs"
    write(docs, "a.md", "---\nquestion: What is a?\nseries: Letters\n---\nA is the first letter.\n")
    write(docs, "b.txt", "B is the second letter of the alphabet.\n")
    write(docs, "bad.md", "")
    (docs / "blob.txt").write_bytes(b"\x00\x01binary")
    with small_db(tmp_path / "kb", hash_embedder) as db:
        report = db.ingest([docs])
        assert sorted(report.added) == ["a", "b"]
        reasons = {Path(s.source).name: s.reason for s in report.skipped}
        assert "empty" in reasons["bad.md"] and "binary" in reasons["blob.txt"]
        again = db.ingest([docs])
        assert again.added == [] and again.passages == 0
        assert db.stats()["documents"] == 2


def test_a_large_unchanged_reingest_needs_no_writer_lock(
    tmp_path: Path, hash_embedder: HashEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        "answerdb.store.embedded.store.BULK_PASSAGES", 2
    )  # a bulk load, without the volume
    docs = [Document(doc_id=f"d{i}", text=f"Word{i} is number {i}.", source="t") for i in range(5)]
    with small_db(tmp_path / "kb", hash_embedder, lock_timeout=0.1) as db:
        assert db.add(docs).passages == 5
        with WriterLock(tmp_path / "kb" / "writer.lock", 1.0):  # another process writes
            again = db.add(docs)
        assert again.added == [] and len(again.skipped) == 5


def test_missing_path_is_a_clear_error(tmp_path: Path, hash_embedder: HashEmbedder) -> None:
    with small_db(tmp_path / "kb", hash_embedder) as db, pytest.raises(InputError, match="nope"):
        db.ingest([tmp_path / "nope"])


def test_bad_file_does_not_lose_committed_documents(
    tmp_path: Path, hash_embedder: HashEmbedder
) -> None:
    with small_db(tmp_path / "kb", hash_embedder) as db:
        db.add([Document(doc_id="kept", text="Kept forever.", source="x")])
        bad = write(tmp_path, "bad.jsonl", '{"_id": "1", "text": "ok"}\nnot json\n')
        with pytest.raises(InputError, match="line 2"):
            db.ingest([bad], on_error="raise")
        assert db.document("kept") is not None


def test_another_model_is_refused(
    tmp_path: Path, hash_embedder: HashEmbedder, minilm: Embedder
) -> None:
    with small_db(tmp_path / "kb", hash_embedder) as db:
        db.add([Document(doc_id="a", text="Some text here.", source="x")])
    with (
        small_db(tmp_path / "kb", minilm) as db,
        pytest.raises(ModelMismatchError, match="test-hash"),
    ):
        db.search("text")


def test_search_modes_and_filters(demo_db: AnswerDB) -> None:
    for mode in ("dense", "keyword", "hybrid"):
        hits = demo_db.search("HNSW graph index", k=5, mode=mode)
        assert hits and hits[0].metadata["series"] == "Vector databases", mode
    hits = demo_db.search("detect anomalies", k=10, where={"series": "Video AI"})
    assert hits and {h.metadata["series"] for h in hits} == {"Video AI"}
    with pytest.raises(InputError, match="unknown mode"):
        demo_db.search("x", mode="fuzzy")
    with pytest.raises(InputError, match="empty"):
        demo_db.search("   ")


def test_dense_scores_lose_their_crowding(
    demo_db: AnswerDB, demo_kb: Path, minilm: Embedder
) -> None:
    plain = FusionSettings(crowding_weight=0.0)
    store = EmbeddedStore(demo_kb, readonly=True)
    with AnswerDB(store, model=minilm.name, embedder=minilm, fusion=plain) as raw_db:
        raw = {h.row: h.score for h in raw_db.search("HNSW graph index", k=100, mode="dense")}
    hits = demo_db.search("HNSW graph index", k=10, mode="dense")
    crowding = EmbeddedStore(demo_kb, readonly=True).crowding([h.row for h in hits], 5)
    weight = demo_db.fusion.crowding_weight
    assert weight > 0 and 0 < min(crowding) <= max(crowding) < 1
    # float32 scores: a small result is exact to about 1e-7, not to pytest's 1e-6 of it.
    assert [h.score for h in hits] == pytest.approx(
        [raw[h.row] - weight * c for h, c in zip(hits, crowding, strict=True)], abs=1e-6
    )
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_demo_question_answers_from_the_careers_article(demo_db: AnswerDB) -> None:
    answer = demo_db.ask(CAREERS_QUESTION)
    assert answer.hits[0].doc_id == CAREERS
    assert answer.text and answer.citations
    assert answer.citations[0].hit.doc_id == CAREERS
    keep = answer.keep_reading
    assert len(keep) == 5
    assert len({r.doc_id for r in keep}) == 5 and CAREERS not in {r.doc_id for r in keep}
    assert all(r.teaser and r.question.endswith("?") for r in keep)
    assert sum(r.series == "Computer vision" for r in keep) >= 4
    assert answer.series[0] == "Computer vision"


def test_related_for_an_article_and_unknown_id(demo_db: AnswerDB) -> None:
    items = demo_db.related(CAREERS, k=3)
    assert len(items) == 3
    with pytest.raises(InputError, match="no article"):
        demo_db.related("nope")


def test_series_come_from_front_matter(demo_db: AnswerDB) -> None:
    groups = demo_db.series()
    assert len(groups) >= 8
    assert all(len(g.articles) >= 10 for g in groups)


def test_a_large_ingest_grows_the_graph_meanwhile_and_saves_it_at_its_end(
    tmp_path: Path, hash_embedder: HashEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("answerdb.store.embedded.store.BULK_PASSAGES", 10)
    monkeypatch.setattr("answerdb.ingest.embedding.BATCH_PASSAGES", 4)
    monkeypatch.setattr("answerdb.store.embedded.graph_builder.STEP_ROWS", 3)
    embed = hash_embedder.embed

    def slow(texts: Sequence[str], progress: Any = None) -> Any:
        time.sleep(0.05)  # a model slower than the writes: the graph's thread has time
        return embed(texts)

    monkeypatch.setattr(hash_embedder, "embed", slow)
    beside: list[int] = []  # rows the graph took on its own thread
    others: list[int] = []  # and at the end
    catch_up = AnnIndex.catch_up

    def counting(
        index: AnnIndex, committed: int, batch: int = 65536, one_thread: bool = False
    ) -> None:
        (beside if one_thread else others).append(committed - index.rows)
        catch_up(index, committed, batch, one_thread)

    monkeypatch.setattr(AnnIndex, "catch_up", counting)
    with small_db(tmp_path / "kb", hash_embedder, exact_limit=0) as db:  # a graph from row 1
        docs = [
            Document(doc_id=f"d{i}", text=f"Word{i} is number {i}.", source="t") for i in range(30)
        ]
        db.add(docs)
        assert (tmp_path / "kb" / "index-g0.faiss").exists()  # saved when the bulk ended
        assert 0 < sum(beside) <= 30 and max(beside) <= 3
        assert sum(beside) + sum(n for n in others if n) == 30  # the rest at the end, at once
        assert db.search("Word7 is number 7.", k=1, mode="dense")[0].doc_id == "d7"


def test_an_ingest_that_leaves_the_graph_to_reindex_is_searched_exactly_until_then(
    tmp_path: Path, hash_embedder: HashEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("answerdb.store.embedded.store.BULK_PASSAGES", 10)
    with small_db(tmp_path / "kb", hash_embedder, exact_limit=0) as db:
        docs = [
            Document(doc_id=f"d{i}", text=f"Word{i} is number {i}.", source="t") for i in range(30)
        ]
        db.add(docs, index_later=True)
        assert db.stats()["index_waiting_rows"] == 30
        assert db.search("Word7 is number 7.", k=1, mode="dense")[0].doc_id == "d7"
        db.reindex()
        assert db.stats()["index_rows"] == 30 and db.stats()["index_waiting_rows"] == 0
