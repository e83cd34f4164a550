"""The embedded store: one folder holding the catalog, the vector file and the ANN index.

Layout: ``catalog.sqlite`` (truth), ``vectors-g<N>.<dtype>`` (memory-mapped rows),
``index-g<N>.faiss`` (derived graph), ``writer.lock``. ``N`` is the compaction generation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from answerdb.errors import InputError, LockedError, StoreError
from answerdb.store.base import Grow, Reembed, Store
from answerdb.store.embedded import check, compaction, folder, graph_cache, repair
from answerdb.store.embedded.batch import last_versions, write_batch
from answerdb.store.embedded.catalog import Catalog
from answerdb.store.embedded.crowding import CrowdingCache, crowding
from answerdb.store.embedded.filter_cache import FilterCache, Matching, bitmap
from answerdb.store.embedded.fts import match_expression
from answerdb.store.embedded.graph_builder import GraphBuilder
from answerdb.store.embedded.hnsw import AnnIndex, newer_graph
from answerdb.store.embedded.lock import WriterLock
from answerdb.store.embedded.search import Ranked, nearest
from answerdb.store.embedded.settings import settle_dtype, settle_index
from answerdb.store.embedded.stats import store_stats
from answerdb.store.embedded.vectors import INT8_SCALE, VectorFile
from answerdb.store.embedded.where_sql import refuse_mistyped_ranges, where_sql
from answerdb.types import CheckReport, Document, Hit, IndexSettings, Passage, Vectors
from answerdb.where import Where

# Below this many candidate rows an exact scan beats the graph and has perfect recall; a store
# no bigger than this builds no graph at all (nothing would search it).
EXACT_LIMIT = 20_000
# From this many passages an ingest builds the graph once, at its end.
BULK_PASSAGES = 4096
CATALOG = "catalog.sqlite"
# A read overtaken by a compaction is tried again on the new files, this many times.
READ_RETRIES = 5
T = TypeVar("T")
BulkLoad = AbstractContextManager[Grow]


class EmbeddedStore(Store):
    """A knowledge base in a local folder; safe for many reader processes and one writer."""

    def __init__(
        self,
        path: Path,
        dtype: str = "int8",
        readonly: bool = False,
        lock_timeout: float = 10.0,
        exact_limit: int = EXACT_LIMIT,
        index: IndexSettings | None = None,
        create: bool = True,
    ) -> None:
        self.path = path
        self.readonly = readonly
        self.lock_timeout = lock_timeout
        self.exact_limit = exact_limit
        if not (path / CATALOG).exists() and (readonly or not create):
            raise InputError(f"{path}: not a knowledge base (run `answerdb ingest {path} FILES`)")
        if not readonly:  # refused here, before a caller embeds anything for it
            folder.prepare_for_writing(path)
        self.catalog = Catalog(path / CATALOG, readonly=readonly)
        self._dtype = settle_dtype(self.catalog, dtype)
        self._index = settle_index(self.catalog, index)
        # Inside bulk(): rows are stored but the graph waits until the bulk load ends.
        self._deferred = False
        self._builder: GraphBuilder | None = None  # inside bulk(): grows the graph meanwhile
        self._written = 0  # rows committed by this store's last add
        self._adds = 0  # batches this handle has committed
        self._seen_version = -1
        self._committed = 0  # rows committed as of the version seen
        self._live: npt.NDArray[np.uint8] | None = None
        self._live_rows: npt.NDArray[np.int64] = np.zeros(0, dtype=np.int64)
        self._filters = FilterCache()
        self._crowding = CrowdingCache()
        self._load_generation()

    @property
    def index_settings(self) -> IndexSettings:
        """The HNSW parameters in force (recorded in the catalog)."""
        return self._index

    def _load_generation(self) -> None:
        self._generation = int(self.catalog.meta("generation", "0") or 0)
        dim = int(self.catalog.meta("dim", "0") or 0)
        path = self._file("vectors", self._dtype)
        offset = self.catalog.meta("int8_codes") == "offset"
        self.vectors = VectorFile(path, dim, self._dtype, self._int8_scale(), offset=offset)
        self.ann = AnnIndex(self.vectors, self._index)
        if dim:  # a graph ahead of the catalog is stale: it is ignored and rebuilt
            self.ann.load(self._file("index", "faiss"), self.catalog.committed_rows())

    def _int8_scale(self) -> float:
        return float(self.catalog.meta("int8_scale", str(INT8_SCALE)) or INT8_SCALE)

    def _file(self, stem: str, suffix: str) -> Path:
        return self.path / f"{stem}-g{self._generation}.{suffix}"

    @property
    def generation(self) -> int:
        """The compaction generation whose files are in use."""
        return self._generation

    @property
    def index_path(self) -> Path:
        """The saved graph of the current generation."""
        return self._file("index", "faiss")

    def writer_lock(self) -> WriterLock:
        """The writer lock (every write, and ``repair``); raises StoreError when read-only."""
        if self.readonly:
            raise StoreError(f"{self.path}: opened read-only")
        return WriterLock(self.path / folder.LOCK_FILE, self.lock_timeout)

    def model(self) -> dict[str, str]:
        return self.catalog.model()

    def set_model(self, name: str, revision: str, dim: int) -> None:
        with self.writer_lock():
            self.catalog.set_model(name, revision, dim)
        self._load_generation()

    # -- writes ---------------------------------------------------------------------------
    def add(
        self, docs: list[tuple[Document, str]], passages: list[Passage], vectors: Vectors
    ) -> None:
        """A document id given twice keeps its last version (with that version's passages)."""
        if len(passages) != len(vectors):
            raise InputError(f"{len(passages)} passages but {len(vectors)} vectors")
        batch = last_versions(docs, passages, vectors)
        with self.writer_lock():
            self._refresh()
            written = write_batch(self.catalog, self.vectors, batch, self._dtype == "int8")
        self._written = written  # committed: the graph may take these rows
        self._adds += 1
        if self._builder is not None:
            self._builder.offer(written)
        self._refresh()

    def delete(self, doc_ids: list[str]) -> int:
        with self.writer_lock():
            present = self.catalog.existing_ids(doc_ids)
            with self.catalog.transaction():
                self.catalog.delete_documents(sorted(present))
                self.catalog.bump_version()
        self._refresh()
        return len(present)

    def flush(self) -> None:
        """Save the graph so the next open need not rebuild it.

        Skipped while another process writes or when the disk refuses: the graph is derived
        (invariant 1), so closing never waits for a writer and never fails for it.
        """
        if self.readonly or self.ann.rows == self.ann.saved_rows:
            return
        try:
            with WriterLock(self.path / folder.LOCK_FILE, timeout=0):
                self._refresh()  # save what is committed now, in the current generation
                self._save_graph()
        except (LockedError, StoreError, OSError):
            return

    def _save_graph(self) -> None:
        """Save the graph; the catalog records its CRC (`check` tells a copied graph)."""
        self.ann.save(self._file("index", "faiss"), self.catalog.record_graph_crc)

    def compact(self) -> dict[str, Any]:
        """StoreError, compacting nothing, when a row to copy fails its checksum."""
        with self.writer_lock():
            self.catalog.set_graph_waits(False)  # the new generation's graph is built in full
            self._refresh()
            before = self.catalog.committed_rows()
            live = np.sort(self.catalog.live_rows())
            old_files = [self.vectors.path, self._file("index", "faiss")]
            target = self.path / f"vectors-g{self._generation + 1}.{self._dtype}"
            compaction.write_generation(self.vectors, self.catalog, live, target)
            self._load_generation()
            for stale in old_files:
                stale.unlink(missing_ok=True)
            self._refresh()
            self._save_graph()
            vacuumed = compaction.vacuum(self.catalog)
        freed = (before - len(live)) * self.vectors.row_bytes
        return {"rows_before": before, "rows_after": len(live), "bytes_freed": freed, **vacuumed}

    def bulk(self, passages: int | None = None, graph_waits: bool = False) -> BulkLoad:
        """From BULK_PASSAGES passages (or an unknown number), ``bulk_load``; else nothing.
        StoreError at once, before the caller embeds anything, when opened read-only."""
        if self.readonly:
            self.writer_lock()  # raises
        if passages is not None and passages < BULK_PASSAGES:
            return nullcontext()
        return self.bulk_load(graph_waits, passages)

    @contextmanager
    def bulk_load(
        self, graph_waits: bool = False, passages: int | None = None
    ) -> Iterator[Callable[[], bool]]:
        """Store many batches, then finish and save the graph once: cheaper than catching it
        up after each batch. Meanwhile a copy of the graph grows in the gaps the model and the
        writer leave (graph_builder.py); the graph takes it at the end, with the rows it lacks
        added on every core. Yields ``grow()`` for the caller's waits: False (nothing to do).

        Each batch still commits whole; another process that searches meanwhile catches its
        own graph up, as after any write. With ``graph_waits`` the graph takes none of the
        rows: they wait for `reindex`, scanned exactly meanwhile (``passages``: about how many).
        """
        if graph_waits:
            with self.writer_lock():
                self.catalog.set_graph_waits(True)
        self._deferred = True
        adds, generation = self._adds, self._generation
        # A store the coming rows take past the exact scan grows its graph from the first batch.
        outgrows = passages and self.catalog.committed_rows() + passages > self.exact_limit
        start = 0 if outgrows else self.exact_limit + 1
        self._builder = None if graph_waits else GraphBuilder(self.ann.copy(), start)
        try:
            yield lambda: False
        finally:
            self._deferred = False
            built = self._builder.finish() if self._builder else None
            self._builder = None
        if self._adds == adds:  # nothing stored (all unchanged): no lock, nothing to save
            return
        with self.writer_lock():
            if built is not None and self._generation == generation and built.rows > self.ann.rows:
                with self.catalog.guard:  # a search on another thread walks the graph under it
                    self.ann = built
            self._seen_version = -1
            self._refresh()
            if self.ann.rows != self.ann.saved_rows:
                self._save_graph()

    def graph_rows(self, committed: int) -> int:
        """The rows the graph should hold: all of them, or none while an exact scan serves
        every search (it is built, in full, when the store outgrows ``exact_limit``)."""
        return committed if committed > self.exact_limit else 0

    def reindex(self) -> None:
        with self.writer_lock():
            self.catalog.set_graph_waits(False)
            self.ann = AnnIndex(self.vectors, self._index)
            self._seen_version = -1
            self._refresh()
            self._save_graph()

    # -- reads ----------------------------------------------------------------------------
    def _refresh(self) -> None:
        """Follow what other processes committed: new rows, deletes, a new generation."""
        if self._deferred:
            # The graph waits for the bulk load's end, but not a compaction by another
            # process: its new files renumber the rows that the next batch appends to.
            if int(self.catalog.meta("generation", "0") or 0) != self._generation:
                self._load_generation()
                self._written = 0
            return
        with self.catalog.snapshot():  # rows, live rows and generation from one commit
            version = self.catalog.version()
            if version == self._seen_version:
                return
            if int(self.catalog.meta("generation", "0") or 0) != self._generation:
                self._load_generation()
            self.vectors.scale = self._int8_scale()  # recorded by the first batch
            committed = self._committed = self.catalog.committed_rows()
            self._catch_up(committed, waits=self.catalog.graph_waits())
            self._filters.clear()
            self._crowding.clear()
            if self.catalog.passage_count() == committed:
                # Nothing deleted: no row list to read (it costs seconds at millions of rows).
                self._live_rows = np.arange(committed, dtype=np.int64)
                self._live = None
            else:
                self._live_rows = self.catalog.live_rows()
                self._live = bitmap(self._live_rows, committed)
            self._seen_version = version

    def _catch_up(self, committed: int, waits: bool) -> None:
        """Bring the graph to the rows it should hold (unless they wait for `reindex`)."""
        wanted = self.graph_rows(committed)
        if self.ann.rows < wanted:  # another process may have saved them: mapping is cheaper
            self.ann = newer_graph(self.ann, self._file("index", "faiss"), committed) or self.ann
        if not waits:  # read-only handles share what they build (graph_cache.py)
            self.ann = graph_cache.caught_up(self.ann, wanted, share=self.readonly)

    def _consistent(self, read: Callable[[], T]) -> T:
        """Run a read in one catalog snapshot; again if compaction removed its files meanwhile
        (a slow reader can be overtaken by several compactions in a row)."""
        for _ in range(READ_RETRIES):
            try:
                with self.catalog.snapshot():
                    return read()
            except StoreError:
                if int(self.catalog.meta("generation", "0") or 0) == self._generation:
                    raise
        with self.catalog.snapshot():
            return read()

    def vector_search(self, query: Vectors, k: int, where: Where | None = None) -> list[Hit]:
        return self._consistent(lambda: self.catalog.hits(self._nearest(query, k, where)))

    def vector_ids(
        self, query: Vectors, k: int, where: Where | None = None
    ) -> list[tuple[str, float]]:
        """The k nearest passages as (document id, score) only: for lookups by vector (near
        duplicates, recommendations) that need no passage text."""

        return self._consistent(lambda: self.catalog.doc_ids(self._nearest(query, k, where)))

    def _nearest(self, query: Vectors, k: int, where: Where | None) -> Ranked:
        """(row, score) of the k best live rows, inside the caller's snapshot."""
        self._refresh()
        committed = self._committed
        if committed == 0 or k <= 0:
            return []
        # Unfiltered, the live rows cached by _refresh serve: no query per search.
        rows, bits = self._matching(where, committed) if where else (self._live_rows, self._live)
        return nearest(self.ann, query, k, rows, bits, committed, self.exact_limit, bool(where))

    def crowding(self, rows: list[int], k: int) -> Vectors:
        return self._consistent(lambda: self._crowded(np.asarray(rows, dtype=np.int64), k))

    def _crowded(self, rows: npt.NDArray[np.int64], k: int) -> Vectors:
        self._refresh()  # the cache holds the values of the version seen
        live = (self._live_rows, self._live, self._committed, self.exact_limit)
        return self._crowding.get(rows, k, lambda todo: crowding(self.ann, todo, k, *live))

    def _matching(self, where: Where, committed: int) -> Matching:
        """The live rows a filter matches, with their bitmap when the graph will need it."""

        def compute() -> Matching:
            rows = self.catalog.live_rows(*where_sql(where))
            if not len(rows):  # a range of the wrong kind matches nothing: say so instead
                refuse_mistyped_ranges(self.catalog.db, where)
            return rows, (bitmap(rows, committed) if len(rows) > self.exact_limit else None)

        return self._filters.get(where, compute)

    def keyword_search(self, query: str, k: int, where: Where | None = None) -> list[Hit]:
        expression = match_expression(query)
        if not expression or k <= 0:
            return []
        sql, params = where_sql(where)
        with self.catalog.snapshot():  # rows are renumbered by compaction: score and fetch together
            hits = self.catalog.hits(self.catalog.keyword_search(expression, k, sql, params))
            if not hits:
                refuse_mistyped_ranges(self.catalog.db, where)
            return hits

    def document(self, doc_id: str) -> Document | None:
        return self.catalog.document(doc_id)

    def documents(self) -> list[Document]:
        return self.catalog.documents()

    def neighbours(self, doc_id: str, width: int) -> list[tuple[int, Document]]:
        return self.catalog.neighbours(doc_id, width)

    def passages(self, doc_id: str) -> list[Passage]:
        return self.catalog.passages_of(doc_id)

    def passage_vectors(self, doc_id: str) -> Vectors:
        return self._consistent(lambda: self._passage_vectors(doc_id))

    def _passage_vectors(self, doc_id: str) -> Vectors:
        self._refresh()
        rows = self.catalog.rows_of(doc_id)
        codes = self.vectors.rows(self.catalog.committed_rows())[rows]
        return self.vectors.decode(np.asarray(codes))

    def has_hash(self, content_hash: str) -> bool:
        return self.catalog.has_hash(content_hash)

    def stored_hashes(self, hashes: list[str]) -> set[str]:
        return self.catalog.stored_hashes(hashes)

    def existing_ids(self, doc_ids: list[str]) -> set[str]:
        return self.catalog.existing_ids(doc_ids)

    def stats(self) -> dict[str, Any]:
        with self.catalog.snapshot():
            return store_stats(self)

    def check(self) -> CheckReport:
        return check.check_store(self)

    def repair(self, embed: Reembed | None = None) -> tuple[list[str], CheckReport]:
        return repair.repair_store(self, embed)

    def close(self) -> None:
        self.flush()
        self.vectors.close()
        self.catalog.close()
