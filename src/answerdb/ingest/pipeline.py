"""Ingest between reading and storing: new documents split into passages as they are needed,
grouped into batches, and each batch embedded on a worker thread while the caller splits and
writes the ones before.

Only the embedding moves off the caller's thread: the store is written by the caller alone,
batch after batch in order, so each batch still commits whole (invariant 2) and an error in
either stage stops the ingest with the earlier batches committed and no later one written.
onnxruntime, SQLite, faiss and fsync release the GIL while they work, so with the ONNX model
the two stages run side by side on both cores; a model written in Python (the static one)
takes turns with the writer for the GIL (docs/scaling.md, "Text ingest").
"""

from __future__ import annotations

import gc
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing, contextmanager
from dataclasses import dataclass
from typing import TypeVar

from answerdb.store.base import Store
from answerdb.text import split_sentences
from answerdb.types import Document, IngestReport, Passage, Skipped, Vectors

from .split import split_passages

# Progress callbacks get (done, total) in passages.
Progress = Callable[[int, int], None]
MAX_PASSAGE_WORDS = 220
UNCHANGED = "unchanged: already stored"
# Batches embedded ahead of the write: one being embedded, one ready for when a write lags.
EMBED_AHEAD = 2
# Documents hashed at a time, their hashes looked up in the store in one query.
HASHED_AHEAD = 256
T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class Embedding:
    """How an ingest embeds: ``embed`` on a worker thread, ``here`` (the same model in the
    caller's thread, beside a child process) for batches it has time to take, ``batch``
    passages at a time."""

    embed: Callable[[list[str]], Vectors]
    batch: int
    here: Callable[[list[str]], Vectors] | None = None


@dataclass(frozen=True)
class Pending:
    """A new document to store: its content hash and its passages, numbered in order."""

    doc: Document
    content_hash: str
    passages: list[Passage]


def unstored(
    documents: Iterable[Document],
    stored: Callable[[list[str]], set[str]],
    skipped: list[Skipped],
    unchanged: Callable[[Document], None] | None = None,
) -> Iterator[tuple[Document, str]]:
    """The documents to store, with their content hashes, as they are asked for (HASHED_AHEAD
    at a time: ``stored`` tells which of their hashes the store holds). One whose hash is stored
    or came earlier is added to ``skipped`` (and given to ``unchanged``)."""
    seen: set[str] = set()
    for group in _groups_of(documents, HASHED_AHEAD):
        hashes = [doc.content_hash() for doc in group]
        held = stored(hashes)
        for doc, content_hash in zip(group, hashes, strict=True):
            if content_hash in seen or content_hash in held:
                skipped.append(Skipped(doc.doc_id, UNCHANGED))
                if unchanged is not None:
                    unchanged(doc)
                continue
            seen.add(content_hash)
            yield doc, content_hash


def _groups_of(items: Iterable[T], size: int) -> Iterator[list[T]]:
    group: list[T] = []
    for item in items:
        group.append(item)
        if len(group) == size:
            yield group
            group = []
    if group:
        yield group


def split_each(
    fresh: Iterable[tuple[Document, str]], max_words: int, skipped: list[Skipped]
) -> Iterator[Pending]:
    """Each document split into passages when it is asked for; an empty one is added to
    ``skipped`` instead."""
    for doc, content_hash in fresh:
        passages = split_document(doc, max_words)
        if passages:
            yield Pending(doc, content_hash, passages)
        else:
            skipped.append(Skipped(doc.doc_id, "empty document"))


def new_documents(
    documents: Iterable[Document], stored: Callable[[list[str]], set[str]], max_words: int
) -> tuple[list[Pending], list[Skipped]]:
    """``unstored`` and ``split_each`` at once: the documents to store, split, and those
    skipped with the reason."""
    skipped: list[Skipped] = []
    return list(split_each(unstored(documents, stored, skipped), max_words, skipped)), skipped


def expected_passages(doc: Document, max_words: int) -> int:
    """About how many passages ``doc`` splits into, without splitting it (0 when blank)."""
    text = doc.text
    if not text or text.isspace():
        return 0
    # Separators stand in for words: counting them is 5x faster than splitting the text.
    words = text.count(" ") + text.count("\n") + 1
    return -(-words // max_words)


def split_document(doc: Document, max_words: int) -> list[Passage]:
    """A document's passages, numbered in order; ``[]`` for a blank document."""
    texts = split_passages(doc, max_words=max_words)
    return [Passage(doc.doc_id, i, text) for i, text in enumerate(texts)]


def passage_texts(doc: Document, passages: list[Passage]) -> list[str]:
    """What the model embeds: each passage under its article's question or title.

    An article with neither puts its opening sentence over its later passages instead, so that
    they keep what the article is about (docs/quality.md measures it).
    """
    if doc.heading or len(passages) < 2:
        return [_with_heading(doc.heading, p.text) for p in passages]
    opening = next(iter(split_sentences(passages[0].text)), "")
    return [passages[0].text, *(_with_heading(opening, p.text) for p in passages[1:])]


def batch_texts(batch: list[Pending]) -> list[str]:
    """The texts to embed for a batch, in the order of its passages."""
    return [text for item in batch for text in passage_texts(item.doc, item.passages)]


def batches(pending: Iterable[Pending], size: int) -> Iterator[list[Pending]]:
    """Whole documents in order, grouped until a batch holds at least ``size`` passages."""
    batch: list[Pending] = []
    count = 0
    for item in pending:
        batch.append(item)
        count += len(item.passages)
        if count >= size:
            yield batch
            batch, count = [], 0
    if batch:
        yield batch


def work_ahead(
    items: Iterable[T],
    work: Callable[[T], R],
    depth: int = EMBED_AHEAD,
    idle: Callable[[], bool] | None = None,
    spare: Callable[[T], R] | None = None,
) -> Generator[tuple[T, R], None, None]:
    """``(item, work(item))`` in the order of ``items``, ``work`` running on one worker thread
    up to ``depth`` items ahead of the caller. While the caller's next item is not ready,
    ``idle()`` is called (on the caller's thread) as long as it returns True: a short piece of
    other work each time. When it has none, ``spare`` (the same work done another way, on the
    caller's thread) takes the last item the worker has not started: a worker that only
    waits on another process leaves this thread's core free for it.

    An exception raised by ``work`` is raised here, in the caller's thread, when its item's
    turn comes: every item before it has been yielded, none after it will be. When the caller
    stops early (an error, or closing the generator), work not yet started is cancelled and
    work under way is left to finish on its own; nothing waits for it.
    """
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="answerdb-ingest")
    queue: deque[tuple[T, Future[R]]] = deque()
    # Work taken from the worker's queue leaves it one item to go on with meanwhile.
    depth = depth + 1 if spare else depth
    try:
        for item in items:
            queue.append((item, pool.submit(work, item)))
            if len(queue) > depth:
                yield _next_done(queue, idle, spare)
        while queue:
            yield _next_done(queue, idle, spare)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def _next_done(
    queue: deque[tuple[T, Future[R]]],
    idle: Callable[[], bool] | None,
    spare: Callable[[T], R] | None,
) -> tuple[T, R]:
    item, future = queue.popleft()
    while not future.done():
        if idle is not None and idle():
            continue
        if spare is None or not _take_last(queue, spare):
            break
    return item, future.result()


def _take_last(queue: deque[tuple[T, Future[R]]], spare: Callable[[T], R]) -> bool:
    """Do the last queued item the worker has not started with ``spare``, here; False when
    the worker has started them all."""
    for index in range(len(queue) - 1, -1, -1):
        item, future = queue[index]
        if future.cancel():
            done: Future[R] = Future()
            try:
                done.set_result(spare(item))
            except Exception as exc:  # raised in the caller's thread when its turn comes
                done.set_exception(exc)
            queue[index] = (item, done)
            return True
    return False


def embed_batches(
    batched: Iterable[list[Pending]],
    embed: Callable[[list[str]], Vectors],
    idle: Callable[[], bool] | None = None,
    embed_here: Callable[[list[str]], Vectors] | None = None,
) -> Generator[tuple[list[Pending], Vectors], None, None]:
    """Each batch with its passages' vectors, embedded ahead (see ``work_ahead``);
    ``embed_here``: the same model in this thread, for batches it has time to take."""
    spare = (lambda batch: embed_here(batch_texts(batch))) if embed_here else None
    return work_ahead(batched, lambda batch: embed(batch_texts(batch)), idle=idle, spare=spare)


def _with_heading(heading: str, text: str) -> str:
    if not heading or text.startswith(heading):
        return text
    return f"{heading}\n{text}"


# -- the driving loop -------------------------------------------------------------------------
def store_documents(
    store: Store,
    documents: list[Document],
    embed: Embedding,
    report: IngestReport,
    progress: Progress | None = None,
    index_later: bool = False,
) -> None:
    """Split, embed and store ``documents`` batch by batch, filling ``report``.

    Documents are hashed, checked against the store and split as the pipeline asks for them
    (the first batch need not wait for them all): until then their passages are estimated,
    for progress and for the store's bulk decision. A doc id given twice keeps its last
    version; the earlier ones are reported as skipped.
    """
    documents = last_versions(documents, report.skipped)
    expected = {id(doc): expected_passages(doc, MAX_PASSAGE_WORDS) for doc in documents}
    left = sum(expected.values())
    done = 0
    unchanged: list[Document] = []
    fresh = unstored(documents, store.stored_hashes, report.skipped, unchanged.append)
    with store.bulk(left, index_later) as grow, _no_collections():
        pending = split_each(fresh, MAX_PASSAGE_WORDS, report.skipped)
        # The next batches are embedded on a worker thread while this one is written here;
        # waiting for them, this thread grows the index, else embeds one itself beside a child.
        stream = embed_batches(
            batches(pending, embed.batch), embed.embed, idle=grow, embed_here=embed.here
        )
        with closing(stream):
            for batch, vectors in stream:
                done += _store_batch(store, batch, vectors, report)
                gone = [item.doc for item in batch] + unchanged
                left -= sum(expected[id(doc)] for doc in gone)
                unchanged.clear()
                if progress:
                    progress(done, done + max(left, 0))
    if progress and done and left > 0:  # fewer passages than estimated: the total is exact
        progress(done, done)


@contextmanager
def _no_collections() -> Iterator[None]:
    """Python's cycle collector off meanwhile: an ingest's passages, rows and texts hold no
    cycles, yet its passes over them took ~4% of the writer's time at 100k passages."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def last_versions(documents: list[Document], skipped: list[Skipped]) -> list[Document]:
    """Each doc id once, its last version, in the order of those last versions."""
    last = {doc.doc_id: doc for doc in documents}
    if len(last) == len(documents):
        return documents
    kept = set(map(id, last.values()))
    for doc in documents:
        if id(doc) not in kept:
            later = last[doc.doc_id].source
            skipped.append(Skipped(doc.source, f"doc id {doc.doc_id!r} repeated; kept {later}"))
    return [doc for doc in documents if id(doc) in kept]


def _store_batch(store: Store, batch: list[Pending], vectors: Vectors, report: IngestReport) -> int:
    passages = [p for item in batch for p in item.passages]
    store.add([(item.doc, item.content_hash) for item in batch], passages, vectors)
    report.added.extend(item.doc.doc_id for item in batch)
    report.passages += len(passages)
    return len(passages)
