"""The ingest pipeline: batches embedded on a worker while the one before is written, in order,
with earlier batches committed when a later one fails."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import pytest

import answerdb.ingest.embedding as ingest_embedding
import answerdb.ingest.pipeline as pipeline
from answerdb.db import AnswerDB
from answerdb.embed.base import Progress, Vectors
from answerdb.errors import InputError
from answerdb.ingest.pipeline import (
    Pending,
    batches,
    expected_passages,
    new_documents,
    passage_texts,
    work_ahead,
)
from answerdb.store.embedded.store import EmbeddedStore
from answerdb.types import Document, Passage

from ..conftest import HashEmbedder

# Small batches, so that a few documents make several of them.
BATCH = 4
WAIT = 10.0


class Boom(RuntimeError):
    pass


class FailingEmbedder(HashEmbedder):
    """Fails on its ``fail_on``-th call (counted from 1), from whichever thread calls it."""

    def __init__(self, fail_on: int) -> None:
        self.fail_on = fail_on
        self.calls = 0
        self.threads: set[str] = set()

    def embed(self, texts: Sequence[str], progress: Progress | None = None) -> Vectors:
        self.calls += 1
        self.threads.add(threading.current_thread().name)
        if self.calls == self.fail_on:
            raise Boom(f"embedding failed on call {self.calls}")
        return super().embed(texts, progress)


@pytest.fixture(autouse=True)
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ingest_embedding, "BATCH_PASSAGES", BATCH)


def docs(count: int, prefix: str = "doc") -> list[Document]:
    """``count`` one-passage documents with distinct words."""
    return [
        Document(doc_id=f"{prefix}/{i}", text=f"Note {i} is about topic{i} only.", source="x")
        for i in range(count)
    ]


def open_db(path: Path, embedder: HashEmbedder) -> AnswerDB:
    return AnswerDB(EmbeddedStore(path), model=embedder.name, embedder=embedder)


# -- work_ahead ---------------------------------------------------------------------------
def test_work_ahead_keeps_order_and_runs_on_a_worker() -> None:
    threads: set[str] = set()

    def square(n: int) -> int:
        threads.add(threading.current_thread().name)
        return n * n

    assert list(work_ahead(range(20), square)) == [(n, n * n) for n in range(20)]
    assert threads and threading.current_thread().name not in threads


def test_work_ahead_works_on_the_next_item_while_the_caller_holds_one() -> None:
    started = [threading.Event() for _ in range(3)]

    def work(n: int) -> int:
        started[n].set()
        return n

    for n, _ in work_ahead(range(3), work, depth=1):
        if n < 2:  # the caller is still busy with n; the worker must reach n + 1 meanwhile
            assert started[n + 1].wait(WAIT)


def test_work_ahead_raises_at_the_failing_item_and_yields_none_after() -> None:
    def work(n: int) -> int:
        if n == 3:
            raise Boom("item 3")
        return n

    seen: list[int] = []
    with pytest.raises(Boom, match="item 3"):
        for n, _ in work_ahead(range(10), work):
            seen.append(n)
    assert seen == [0, 1, 2]


def test_work_ahead_stops_submitting_when_the_caller_stops() -> None:
    done: list[int] = []
    stream = work_ahead(range(100), done.append, depth=2)
    assert next(stream)[0] == 0
    stream.close()
    # Item 0, then up to depth + 1 more submitted before the close: the rest were never asked.
    assert len(done) <= 4


def test_work_ahead_calls_idle_while_the_callers_next_item_is_not_ready() -> None:
    release = threading.Event()
    idle_threads: set[str] = set()

    def idle() -> bool:
        idle_threads.add(threading.current_thread().name)
        release.set()  # the work can only finish once the caller has waited
        return True

    def work(n: int) -> int:
        assert release.wait(WAIT)
        return n

    assert list(work_ahead(range(3), work, idle=idle)) == [(0, 0), (1, 1), (2, 2)]
    assert idle_threads == {threading.current_thread().name}


def test_work_ahead_stops_calling_idle_when_it_has_nothing_to_do() -> None:
    calls: list[int] = []
    release = threading.Event()

    def idle() -> bool:
        calls.append(1)
        return False

    def work(n: int) -> int:
        assert release.wait(WAIT)
        return n

    threading.Timer(0.2, release.set).start()
    assert list(work_ahead(range(1), work, idle=idle)) == [(0, 0)]
    assert calls == [1]  # then it waited without calling again


def test_work_ahead_does_queued_items_itself_while_the_worker_is_busy() -> None:
    release = threading.Event()
    here: list[int] = []

    def work(n: int) -> int:  # a worker stuck on item 0 until the caller has taken items
        assert release.wait(WAIT)
        return n * n

    def spare(n: int) -> int:
        here.append(n)
        release.set()
        return n * n

    assert list(work_ahead(range(6), work, depth=2, spare=spare)) == [(n, n * n) for n in range(6)]
    assert here and 0 not in here  # taken from the end of the queue, never the running one


def test_work_ahead_raises_an_error_of_spare_work_at_its_items_turn() -> None:
    release = threading.Event()

    def work(n: int) -> int:
        assert release.wait(WAIT)
        return n

    failed: list[int] = []

    def spare(n: int) -> int:
        failed.append(n)
        release.set()
        raise Boom(f"item {n}")

    seen: list[int] = []
    with pytest.raises(Boom) as raised:
        for n, _ in work_ahead(range(10), work, depth=1, spare=spare):
            seen.append(n)
    first = min(failed)
    assert str(raised.value) == f"item {first}" and seen == list(range(first))


# -- batches and new documents ----------------------------------------------------------------
def test_batches_hold_whole_documents_in_order() -> None:
    pending, _ = new_documents(docs(10), lambda hashes: set(), max_words=180)
    grouped = list(batches(pending, 3))
    assert [[p.doc.doc_id for p in batch] for batch in grouped] == [
        ["doc/0", "doc/1", "doc/2"],
        ["doc/3", "doc/4", "doc/5"],
        ["doc/6", "doc/7", "doc/8"],
        ["doc/9"],
    ]
    assert all(isinstance(p, Pending) for batch in grouped for p in batch)


def test_new_documents_skips_repeats_stored_and_empty() -> None:
    given = [*docs(3), docs(1)[0], Document(doc_id="blank", text=" \n ", source="x")]
    stored = given[1].content_hash()
    pending, skipped = new_documents(given, lambda hashes: {stored} & set(hashes), max_words=180)
    assert [p.doc.doc_id for p in pending] == ["doc/0", "doc/2"]
    assert [(s.source, s.reason) for s in skipped] == [
        ("doc/1", "unchanged: already stored"),
        ("doc/0", "unchanged: already stored"),
        ("blank", "empty document"),
    ]


# -- through the facade -----------------------------------------------------------------
def test_ingest_keeps_ids_rows_and_order(tmp_path: Path, hash_embedder: HashEmbedder) -> None:
    given = docs(19)
    store = EmbeddedStore(tmp_path / "kb")
    with AnswerDB(store, model=hash_embedder.name, embedder=hash_embedder) as db:
        report = db.add(given)
        assert report.added == [d.doc_id for d in given] and report.passages == 19
        rows = [p.row for d in given for p in store.passages(d.doc_id)]
        assert rows == list(range(19))
        for d in given[::6]:
            assert db.search(d.text, k=1, mode="dense")[0].doc_id == d.doc_id
        assert db.check().ok


def test_progress_reports_each_batch_against_the_total(
    tmp_path: Path, hash_embedder: HashEmbedder
) -> None:
    calls: list[tuple[int, int]] = []
    with open_db(tmp_path / "kb", hash_embedder) as db:
        db.add(docs(10), progress=lambda done, total: calls.append((done, total)))
    assert calls == [(4, 10), (8, 10), (10, 10)]


def test_duplicates_in_later_batches_are_skipped(
    tmp_path: Path, hash_embedder: HashEmbedder
) -> None:
    first = docs(6)
    given = [*first, *docs(3, "other"), first[1], first[5]]  # repeats land in a later batch
    calls: list[tuple[int, int]] = []
    with open_db(tmp_path / "kb", hash_embedder) as db:
        report = db.add(given, progress=lambda done, total: calls.append((done, total)))
        assert report.added == [d.doc_id for d in given[:9]]
        assert [s.source for s in report.skipped] == ["doc/1", "doc/5"]
        assert db.stats()["documents"] == 9 and db.stats()["passages"] == 9
        assert calls[-1] == (9, 9)


def test_documents_are_split_as_the_pipeline_needs_them(
    tmp_path: Path, hash_embedder: HashEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    events: list[str] = []
    split = pipeline.split_document
    monkeypatch.setattr(
        pipeline, "split_document", lambda doc, words: events.append("split") or split(doc, words)
    )
    store = EmbeddedStore(tmp_path / "kb")
    with AnswerDB(store, model=hash_embedder.name, embedder=hash_embedder) as db:
        store_add = store.add

        def logged_add(*args: object) -> None:
            events.append("write")
            store_add(*args)  # type: ignore[arg-type]

        store.add = logged_add  # type: ignore[method-assign]
        assert db.add(docs(20)).passages == 20
    # The first batch is written before the last documents are split (not all split first).
    assert events.index("write") < len(events) - 1 - events[::-1].index("split")
    assert events.count("split") == 20 and events.count("write") == 5


def test_passage_estimates_count_words_over_the_limit() -> None:
    text = " ".join(["word"] * 500)
    assert expected_passages(Document(doc_id="a", text=text, source="x"), 220) == 3
    assert expected_passages(Document(doc_id="b", text=" \n ", source="x"), 220) == 0


def test_progress_totals_start_as_estimates_and_end_exact(
    tmp_path: Path, hash_embedder: HashEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pipeline, "expected_passages", lambda doc, words: 3)  # three times too many
    calls: list[tuple[int, int]] = []
    with open_db(tmp_path / "kb", hash_embedder) as db:
        db.add(docs(6), progress=lambda done, total: calls.append((done, total)))
    assert calls == [(4, 10), (6, 6)]


def test_embedding_runs_ahead_of_the_write(tmp_path: Path, hash_embedder: HashEmbedder) -> None:
    """While batch 0 is written, batch 1 is embedded: add() waits for that to happen."""
    embedded = [threading.Event() for _ in range(3)]
    embed = hash_embedder.embed

    def counting_embed(texts: Sequence[str], progress: Progress | None = None) -> Vectors:
        embedded[sum(e.is_set() for e in embedded)].set()
        return embed(texts, progress)

    hash_embedder.embed = counting_embed  # type: ignore[method-assign]
    store = EmbeddedStore(tmp_path / "kb")
    with AnswerDB(store, model=hash_embedder.name, embedder=hash_embedder) as db:
        store_add = store.add

        def slow_add(*args: object) -> None:
            written = db.stats()["documents"] // BATCH
            if written + 1 < len(embedded):
                assert embedded[written + 1].wait(WAIT), "the next batch was not embedded meanwhile"
            store_add(*args)  # type: ignore[arg-type]

        store.add = slow_add  # type: ignore[method-assign]
        assert db.add(docs(12)).passages == 12


def test_a_failing_embedding_leaves_earlier_batches_committed(tmp_path: Path) -> None:
    embedder = FailingEmbedder(fail_on=3)
    given = docs(20)
    calls: list[tuple[int, int]] = []
    store = EmbeddedStore(tmp_path / "kb")
    with AnswerDB(store, model=embedder.name, embedder=embedder) as db:
        with pytest.raises(Boom, match="call 3"):
            db.add(given, progress=lambda done, total: calls.append((done, total)))
        assert calls == [(4, 20), (8, 20)]
        assert db.stats()["documents"] == 8 and db.stats()["passages"] == 8
        assert {d.doc_id for d in store.documents()} == {d.doc_id for d in given[:8]}
        assert db.check().ok
        assert threading.current_thread().name not in embedder.threads
        # What failed can be ingested again: the committed batches are skipped as unchanged.
        embedder.fail_on = 0
        again = db.add(given)
        assert again.added == [d.doc_id for d in given[8:]] and len(again.skipped) == 8
        assert db.stats()["documents"] == 20 and db.check().ok


def test_a_failing_write_stops_the_ingest(tmp_path: Path, hash_embedder: HashEmbedder) -> None:
    store = EmbeddedStore(tmp_path / "kb")
    with AnswerDB(store, model=hash_embedder.name, embedder=hash_embedder) as db:
        store_add = store.add
        writes = 0

        def failing_add(*args: object) -> None:
            nonlocal writes
            writes += 1
            if writes == 2:
                raise Boom("disk said no")
            store_add(*args)  # type: ignore[arg-type]

        store.add = failing_add  # type: ignore[method-assign]
        with pytest.raises(Boom, match="disk said no"):
            db.add(docs(20))
        assert writes == 2
        assert db.stats()["documents"] == BATCH and db.check().ok


def test_ingest_from_files_with_a_bad_one_raises_before_writing(
    tmp_path: Path, hash_embedder: HashEmbedder
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(6):
        (folder / f"{i}.txt").write_text(f"Text number {i} about item{i}.\n", encoding="utf-8")
    (folder / "9-bad.txt").write_bytes(b"caf\xe9, not utf-8")
    with open_db(tmp_path / "kb", hash_embedder) as db:
        with pytest.raises(InputError, match=r"9-bad\.txt"):
            db.ingest([folder], on_error="raise")
        assert db.stats()["documents"] == 0
        report = db.ingest([folder])
        assert sorted(report.added) == [str(i) for i in range(6)]
        assert [Path(s.source).name for s in report.skipped] == ["9-bad.txt"]


def test_passages_are_embedded_under_the_question_or_title() -> None:
    doc = Document(doc_id="d", text="", source="d.md", question="What is HNSW?")
    passages = [Passage("d", 0, "What is HNSW? A graph."), Passage("d", 1, "It has layers.")]
    assert passage_texts(doc, passages) == [
        "What is HNSW? A graph.",  # already starts with it
        "What is HNSW?\nIt has layers.",
    ]


def test_an_untitled_article_puts_its_opening_over_its_later_passages() -> None:
    doc = Document(doc_id="d", text="", source="d.jsonl")
    passages = [Passage("d", 0, "HNSW is a graph index. It is fast."), Passage("d", 1, "Layers.")]
    assert passage_texts(doc, passages) == [
        "HNSW is a graph index. It is fast.",
        "HNSW is a graph index.\nLayers.",
    ]
    assert passage_texts(doc, passages[:1]) == ["HNSW is a graph index. It is fast."]
