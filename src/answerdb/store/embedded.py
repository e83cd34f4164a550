"""The embedded store: one folder holding the catalog, the vector file and the ANN index.

Layout: ``catalog.sqlite`` (truth), ``vectors-g<N>.<dtype>`` (memory-mapped rows),
``index-g<N>.faiss`` (derived graph), ``writer.lock``. ``N`` is the compaction generation.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from answerdb.errors import InputError, StoreError
from answerdb.store.ann import AnnIndex
from answerdb.store.base import Store
from answerdb.store.catalog import Catalog
from answerdb.store.filters import Where, where_sql
from answerdb.store.fts import match_expression
from answerdb.store.lock import WriterLock
from answerdb.store.vectors import Matrix, VectorFile
from answerdb.types import Document, Hit, Passage

# Below this many candidate rows an exact scan beats the graph and has perfect recall.
EXACT_LIMIT = 20_000
# The graph proposes this many times k candidates; exact re-scoring picks the best k.
OVERSAMPLE = 4


class EmbeddedStore(Store):
    """A knowledge base in a local folder; safe for many reader processes and one writer."""

    def __init__(
        self,
        path: Path,
        dtype: str = "int8",
        readonly: bool = False,
        lock_timeout: float = 10.0,
        exact_limit: int = EXACT_LIMIT,
    ) -> None:
        self.path = path
        self.readonly = readonly
        self.lock_timeout = lock_timeout
        self.exact_limit = exact_limit
        if not readonly:
            path.mkdir(parents=True, exist_ok=True)
        elif not (path / "catalog.sqlite").exists():
            raise InputError(f"{path}: not a knowledge base (no catalog.sqlite)")
        self.catalog = Catalog(path / "catalog.sqlite", readonly=readonly)
        self._dtype = self._settle_dtype(dtype)
        self._seen_version = -1
        self._live: npt.NDArray[np.uint8] | None = None
        self._load_generation()

    # -- set-up ---------------------------------------------------------------------------
    def _settle_dtype(self, dtype: str) -> str:
        stored = self.catalog.meta("dtype")
        if stored is None and not self.readonly:
            with self.catalog.transaction():
                self.catalog.set_meta("dtype", dtype)
            return dtype
        return stored or dtype

    def _load_generation(self) -> None:
        self._generation = int(self.catalog.meta("generation", "0") or 0)
        dim = int(self.catalog.meta("dim", "0") or 0)
        self.vectors = VectorFile(self._file("vectors", self._dtype), dim, self._dtype)
        self.ann = AnnIndex(self.vectors)
        if (
            dim
            and self.ann.load(self._file("index", "faiss"))
            and (self.ann.rows > self.catalog.committed_rows())
        ):
            self.ann = AnnIndex(self.vectors)  # a graph ahead of the catalog is stale

    def _file(self, stem: str, suffix: str) -> Path:
        return self.path / f"{stem}-g{self._generation}.{suffix}"

    def _lock(self) -> WriterLock:
        if self.readonly:
            raise StoreError(f"{self.path}: opened read-only")
        return WriterLock(self.path / "writer.lock", self.lock_timeout)

    def model(self) -> dict[str, str]:
        keys = ("model", "revision", "dim")
        found = {key: self.catalog.meta(key) for key in keys}
        return {key: value for key, value in found.items() if value is not None}

    def set_model(self, name: str, revision: str, dim: int) -> None:
        with self._lock(), self.catalog.transaction():
            self.catalog.set_meta("model", name)
            self.catalog.set_meta("revision", revision)
            self.catalog.set_meta("dim", dim)
        self._load_generation()

    # -- writes ---------------------------------------------------------------------------
    def add(
        self, docs: list[tuple[Document, str]], passages: list[Passage], vectors: Matrix
    ) -> None:
        if len(passages) != len(vectors):
            raise InputError(f"{len(passages)} passages but {len(vectors)} vectors")
        with self._lock():
            self._refresh()
            replaced = self.catalog.existing_ids([doc.doc_id for doc, _ in docs])
            start = self.catalog.committed_rows()
            for offset, passage in enumerate(passages):
                passage.row = start + offset
            # Vectors first: until the catalog commits, they are an invisible tail.
            self.vectors.append(vectors, at_row=start)
            headings = {doc.doc_id: doc.heading for doc, _ in docs}
            with self.catalog.transaction():
                self.catalog.delete_documents(sorted(replaced))
                for doc, content_hash in docs:
                    self.catalog.insert_document(doc, content_hash)
                self.catalog.insert_passages(passages, headings)
                self.catalog.set_meta("rows", start + len(passages))
                self.catalog.bump_version()
        self._refresh()

    def delete(self, doc_ids: list[str]) -> int:
        with self._lock():
            present = self.catalog.existing_ids(doc_ids)
            with self.catalog.transaction():
                self.catalog.delete_documents(sorted(present))
                self.catalog.bump_version()
        self._refresh()
        return len(present)

    def flush(self) -> None:
        """Save the graph so the next open need not rebuild it."""
        if self.readonly or self.ann.rows == self.ann.saved_rows:
            return
        with self._lock():
            self.ann.save(self._file("index", "faiss"))

    def compact(self) -> dict[str, Any]:
        with self._lock():
            self._refresh()
            before = self.catalog.committed_rows()
            live = np.sort(self.catalog.live_rows())
            self._write_generation(live)
            self._refresh()
            self.ann.save(self._file("index", "faiss"))
        freed = (before - len(live)) * self.vectors.row_bytes
        return {"rows_before": before, "rows_after": len(live), "bytes_freed": freed}

    def _write_generation(self, live: npt.NDArray[np.int64]) -> None:
        old_files = [self.vectors.path, self._file("index", "faiss")]
        codes = np.asarray(self.vectors.rows(self.catalog.committed_rows())[live])
        new = VectorFile(
            self.path / f"vectors-g{self._generation + 1}.{self._dtype}",
            self.vectors.dim,
            self._dtype,
        )
        new.append(self.vectors.decode(codes), at_row=0)
        with self.catalog.transaction():
            self.catalog.renumber({int(old): new for new, old in enumerate(live)})
            self.catalog.set_meta("generation", self._generation + 1)
            self.catalog.set_meta("rows", len(live))
            self.catalog.bump_version()
        self._load_generation()
        for stale in old_files:
            stale.unlink(missing_ok=True)

    def reindex(self) -> None:
        with self._lock():
            self.ann = AnnIndex(self.vectors)
            self._seen_version = -1
            self._refresh()
            self.ann.save(self._file("index", "faiss"))

    # -- reads ----------------------------------------------------------------------------
    def _refresh(self) -> None:
        """Follow what other processes committed: new rows, deletes, a new generation."""
        version = self.catalog.version()
        if version == self._seen_version:
            return
        if int(self.catalog.meta("generation", "0") or 0) != self._generation:
            self._load_generation()
        committed = self.catalog.committed_rows()
        self.ann.catch_up(committed)
        live = np.zeros(committed, dtype=bool)
        live[self.catalog.live_rows()] = True
        self._live = None if live.all() else np.packbits(live, bitorder="little")
        self._seen_version = version

    def vector_search(self, query: Matrix, k: int, where: Where | None = None) -> list[Hit]:
        self._refresh()
        committed = self.catalog.committed_rows()
        if committed == 0 or k <= 0:
            return []
        allowed_bits = self._live
        if where or committed <= self.exact_limit:
            rows = self.catalog.live_rows(*where_sql(where))
            if len(rows) <= self.exact_limit:
                return self._exact(query, rows, k, committed)
            allowed_bits = _bitmap(rows, committed)
        candidates = self.ann.search(query, k * OVERSAMPLE, allowed_bits)
        return self._exact(query, candidates, k, committed)

    def _exact(
        self, query: Matrix, rows: npt.NDArray[np.int64], k: int, committed: int
    ) -> list[Hit]:
        scores = self.vectors.scores(query, rows, committed)
        top = np.argsort(-scores)[:k]
        return self.catalog.hits([(int(rows[i]), float(scores[i])) for i in top])

    def keyword_search(self, query: str, k: int, where: Where | None = None) -> list[Hit]:
        expression = match_expression(query)
        if not expression or k <= 0:
            return []
        sql, params = where_sql(where)
        return self.catalog.hits(self.catalog.keyword_search(expression, k, sql, params))

    def document(self, doc_id: str) -> Document | None:
        return self.catalog.document(doc_id)

    def documents(self) -> list[Document]:
        return self.catalog.documents()

    def passage_vectors(self, doc_id: str) -> Matrix:
        self._refresh()
        rows = self.catalog.rows_of(doc_id)
        codes = self.vectors.rows(self.catalog.committed_rows())[rows]
        return self.vectors.decode(np.asarray(codes))

    def has_hash(self, content_hash: str) -> bool:
        return self.catalog.has_hash(content_hash)

    def existing_ids(self, doc_ids: list[str]) -> set[str]:
        return self.catalog.existing_ids(doc_ids)

    def stats(self) -> dict[str, Any]:
        counts = self.catalog.counts()
        index_file = self._file("index", "faiss")
        return {
            **counts,
            "backend": "embedded",
            "path": str(self.path),
            "vector_dtype": self._dtype,
            "vector_rows": self.catalog.committed_rows(),
            "deleted_rows": self.catalog.committed_rows() - counts["passages"],
            "vector_bytes": self.vectors.path.stat().st_size if self.vectors.path.exists() else 0,
            "index_bytes": index_file.stat().st_size if index_file.exists() else 0,
            "catalog_bytes": self.catalog.path.stat().st_size,
            **{f"model_{k}": v for k, v in self.model().items()},
        }

    def close(self) -> None:
        self.flush()
        self.vectors.close()
        self.catalog.close()


def _bitmap(rows: npt.NDArray[np.int64], count: int) -> npt.NDArray[np.uint8]:
    mask = np.zeros(count, dtype=bool)
    mask[rows] = True
    return np.packbits(mask, bitorder="little")
