"""Safe use of one knowledge base from many server threads.

An AnswerDB handle is not safe for concurrent use. Opened from a folder or a store URI, the
server keeps a pool of read-only handles (one per concurrent reader, sharing one embedding
model) and one writer behind a lock: readers never wait for an ingest. Handed an AnswerDB, it
serialises every use of it behind one lock.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import answerdb
from answerdb.answer.series import Series
from answerdb.db import AnswerDB
from answerdb.embed import Embedder
from answerdb.types import Document


class KnowledgeBase:
    """Hands out AnswerDB handles to one thread at a time; caches the learn series."""

    def __init__(self, readers: list[AnswerDB], writer: AnswerDB) -> None:
        self._pool: queue.Queue[AnswerDB] = queue.Queue()
        for handle in readers:
            self._pool.put(handle)
        self._readers = readers
        self._writer = writer
        self._write_lock = threading.Lock()
        self._series_lock = threading.Lock()
        self._series: tuple[tuple[str, ...], list[Series]] | None = None

    @classmethod
    def open(
        cls,
        path: str | Path,
        readers: int = 4,
        model: str | None = None,
        embedder: Embedder | None = None,
        create: bool = True,
        min_relevance: float | None = None,
    ) -> KnowledgeBase:
        """Open a knowledge base (a folder or a store URI; ``create`` one that is not there):
        one writer and ``readers`` read-only handles, all sharing one embedding model
        (``embedder``, else ``model`` loaded, else the model it records, else DEFAULT_MODEL)."""
        writer = answerdb.open(
            path, model=model, create=create, embedder=embedder, min_relevance=min_relevance
        )
        try:
            shared = writer.embedder  # loads it, and records it in a new knowledge base
            pool = [
                answerdb.open(path, readonly=True, embedder=shared, min_relevance=min_relevance)
                for _ in range(max(1, readers))
            ]
        except BaseException:
            writer.close()
            raise
        return cls(pool, writer)

    @classmethod
    def wrap(cls, db: AnswerDB) -> KnowledgeBase:
        """One handle for everything: reads and writes take turns."""
        return _Shared(db)

    @contextmanager
    def reading(self) -> Iterator[AnswerDB]:
        """A handle for reads, for this thread alone until the block ends."""
        handle = self._pool.get()
        try:
            yield handle
        finally:
            self._pool.put(handle)

    @contextmanager
    def writing(self) -> Iterator[AnswerDB]:
        """The writer, for this thread alone until the block ends."""
        with self._write_lock:
            yield self._writer

    def series(self) -> list[Series]:
        """The learn series, computed again only when the set of documents changes."""
        with self.reading() as db:
            documents = db.documents()
            key = _signature(documents)
            with self._series_lock:
                if self._series is None or self._series[0] != key:
                    self._series = (key, db.series())
                return self._series[1]

    def close(self) -> None:
        for handle in [*self._readers, self._writer]:
            handle.close()


class _Shared(KnowledgeBase):
    def __init__(self, db: AnswerDB) -> None:
        super().__init__([], db)
        self._lock = threading.RLock()

    @contextmanager
    def reading(self) -> Iterator[AnswerDB]:
        with self._lock:
            yield self._writer

    @contextmanager
    def writing(self) -> Iterator[AnswerDB]:
        with self._lock:
            yield self._writer

    def close(self) -> None:
        """The caller opened the AnswerDB; the caller closes it."""


def _signature(documents: list[Document]) -> tuple[str, ...]:
    # Replacing a document re-adds it last, so ids in order change with every write.
    return tuple(doc.doc_id for doc in documents)
