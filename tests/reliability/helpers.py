"""Small stores for reliability tests, built with the word-hash embedder (no model)."""

from __future__ import annotations

from pathlib import Path

from stress.workload import WordHashEmbedder, document

from answerdb.db import AnswerDB
from answerdb.store.embedded.store import EmbeddedStore


def open_kb(path: Path, readonly: bool = False, lock_timeout: float = 10.0) -> AnswerDB:
    embedder = WordHashEmbedder()
    # exact_limit=0: a graph over every row, as in a store too big to scan (it is checked too).
    store = EmbeddedStore(path, readonly=readonly, lock_timeout=lock_timeout, exact_limit=0)
    return AnswerDB(store, model=embedder.name, embedder=embedder)


def make_kb(path: Path, docs: int = 12) -> Path:
    """A store of ``docs`` small documents ``d0``… with words ``alpha``… and ``topic<i>``."""
    with open_kb(path) as db:
        db.add(
            [
                document(f"d{i}", f"This is tokd{i} speaking. Alpha beta topic{i} gamma delta.")
                for i in range(docs)
            ]
        )
    return path
