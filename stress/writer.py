"""The writer a crash test kills: it adds, replaces, deletes and compacts, journaling each write.

Pause points let the killer hit each phase of a write on purpose: ``embed`` (embedding a
batch), ``append`` (half of a batch's vectors on disk), ``commit`` (catalog rows written,
COMMIT not yet run), ``committed`` (COMMIT done, the caller not yet told) and ``save``
(graph written to its temporary file, not yet renamed). At the chosen occurrence the writer
signals on a pipe and sleeps until killed.
"""

from __future__ import annotations

import os
import random
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import answerdb.store.embedded.hnsw as ann_module
from answerdb.db import AnswerDB
from answerdb.store.embedded.catalog import Catalog
from answerdb.store.embedded.store import EmbeddedStore
from answerdb.store.embedded.sums import Block
from answerdb.store.embedded.vectors import VectorFile
from answerdb.types import Vectors

from .workload import Journal, Op, WordHashEmbedder, document, make_document

PHASES = ("embed", "append", "commit", "committed", "save")


class PausePoints:
    """Counts each phase; at the chosen occurrence of the chosen phase, signals and waits."""

    def __init__(self, phase: str | None = None, nth: int = 1, signal_fd: int = -1) -> None:
        self.phase = phase
        self.nth = nth
        self.signal_fd = signal_fd
        self.counts: Counter[str] = Counter()

    def hit(self, phase: str) -> None:
        self.counts[phase] += 1
        if phase == self.phase and self.counts[phase] == self.nth:
            os.write(self.signal_fd, phase.encode())
            time.sleep(600)  # the killer's SIGKILL ends this

    def install(self, embedder: WordHashEmbedder) -> None:
        """Wrap the store's steps in this process only (the writer is a forked child)."""
        self._wrap_embed(embedder)
        self._wrap_append()
        self._wrap_transaction()
        self._wrap_save()

    def _wrap_embed(self, embedder: WordHashEmbedder) -> None:
        embed = embedder.embed

        def paused(texts: Any, progress: Any = None) -> Vectors:
            self.hit("embed")
            return embed(texts, progress)

        embedder.embed = paused  # type: ignore[method-assign]

    def _wrap_append(self) -> None:
        append = VectorFile.append
        points = self

        def torn(vf: VectorFile, vectors: Vectors, at_row: int) -> list[Block]:
            if points.phase == "append":  # half the batch reaches the disk before the kill
                data = vf.encode(vectors).tobytes()
                with open(vf.path, "ab") as fh:
                    fh.truncate(at_row * vf.row_bytes)
                    fh.write(data[: len(data) // 2])
            points.hit("append")
            return append(vf, vectors, at_row)

        VectorFile.append = torn  # type: ignore[method-assign,assignment]

    def _wrap_transaction(self) -> None:
        transaction = Catalog.transaction
        points = self

        @contextmanager
        def paused(catalog: Catalog) -> Iterator[Any]:
            with transaction(catalog) as db:
                yield db
                points.hit("commit")
            points.hit("committed")

        Catalog.transaction = paused  # type: ignore[method-assign,assignment]

    def _wrap_save(self) -> None:
        write_index = ann_module.faiss.write_index

        def paused(index: Any, path: str) -> None:
            write_index(index, path)
            self.hit("save")

        ann_module.faiss.write_index = paused


def open_db(path: Path, embedder: WordHashEmbedder) -> AnswerDB:
    return AnswerDB(EmbeddedStore(path), model=embedder.name, embedder=embedder)


class Writer:
    """Chooses and runs writes forever (until killed), journaling each before and after."""

    def __init__(self, path: Path, journal: Path, seed: int, prefix: str) -> None:
        self.path = path
        self.rng = random.Random(seed)
        self.prefix = prefix
        self.embedder = WordHashEmbedder()
        self.journal = Journal(journal)
        self.db = open_db(path, self.embedder)
        self.known = [doc.doc_id for doc in self.db.documents()]
        self.seq = 0

    def run(self, ops: int | None = None) -> None:
        while ops is None or self.seq < ops:
            self.step()
        self.db.close()

    def step(self) -> None:
        self.seq += 1
        op = self._choose()
        self.journal.begin(op)
        self._apply(op)
        self.journal.done(op)

    def _choose(self) -> Op:
        roll = self.rng.random()
        if roll < 0.15 and self.known:
            ids = self.rng.sample(self.known, min(len(self.known), self.rng.randint(1, 2)))
            return self._docs_op("replace", ids)
        if roll < 0.3 and self.known:
            ids = self.rng.sample(self.known, min(len(self.known), self.rng.randint(1, 3)))
            return Op(self.seq, "delete", {}, ids)
        if roll < 0.34:
            return Op(self.seq, "compact", {}, [])
        if roll < 0.42:
            return Op(self.seq, "reopen", {}, [])
        count = self.rng.randint(1, 4)
        return self._docs_op("add", [f"{self.prefix}-{self.seq}-{i}" for i in range(count)])

    def _docs_op(self, kind: str, ids: list[str]) -> Op:
        # The version names the writer too: seq restarts with every writer process.
        docs = {i: make_document(self.rng, i, f"{self.prefix}s{self.seq}").text for i in ids}
        return Op(self.seq, kind, docs, ids)

    def _apply(self, op: Op) -> None:
        if op.kind in ("add", "replace"):
            self.db.add([document(i, text) for i, text in op.docs.items()])
            self.known.extend(i for i in op.ids if i not in self.known)
        elif op.kind == "delete":
            self.db.delete(op.ids)
            self.known = [i for i in self.known if i not in op.ids]
        elif op.kind == "compact":
            self.db.compact()
        else:
            self.db.close()  # saves the graph: the ``save`` phase
            self.db = open_db(self.path, self.embedder)
