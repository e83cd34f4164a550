"""The approximate nearest-neighbour index (faiss HNSW) over the stored vectors.

Derived data (invariant 1): it is rebuilt from the vector file whenever it is missing,
stale or damaged. The graph searches by L2 (which ranks unit vectors as inner product does)
over the very codes the vector file holds: int8 through faiss's direct 8-bit quantiser, float16
through its fp16 one. The saved file holds the graph alone; on open its codes are a view of the
memory-mapped vector file, so vectors are on disk once and nothing is copied to answer a query.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import faiss as _faiss
import numpy as np
import numpy.typing as npt

from answerdb.errors import StoreError
from answerdb.store.embedded import walk
from answerdb.store.embedded.vectors import VectorFile
from answerdb.store.embedded.walk import MAX_DIM, GraphWalk
from answerdb.types import IndexSettings, Vectors

# faiss's bundled stubs describe its SWIG layer, not the numpy-friendly API used here.
faiss: Any = _faiss

_MADV_DONTNEED = 4  # Linux


class AnnIndex:
    """An HNSW graph whose ids are vector-file rows."""

    def __init__(self, vectors: VectorFile, settings: IndexSettings | None = None) -> None:
        self.vectors = vectors
        self.settings = settings or IndexSettings()
        self.index = self._new_index()
        self.saved_rows = 0
        # Read from a saved file: the graph's arrays are mapped pages and cannot grow.
        self._mapped_from: Path | None = None
        # Python owners of what faiss only points at: a storage index and the pages it views.
        self._storage: Any = None
        self._pages: np.ndarray | None = None
        self._params: dict[int, Any] = {}
        self._walker: GraphWalk | None = None
        # The saved file last compared with this graph (see newer_graph).
        self.file_stamp: tuple[int, int, int] | None = None

    @property
    def rows(self) -> int:
        return int(self.index.ntotal)

    def _new_index(self) -> Any:
        dim = self.vectors.dim
        if self.vectors.dtype == "float32":
            index = faiss.IndexHNSWFlat(dim, self.settings.m)
        else:
            index = faiss.IndexHNSWSQ(dim, _quantiser(self.vectors.dtype), self.settings.m)
            index.is_trained = True
        index.hnsw.efConstruction = self.settings.ef_construction
        return index

    def _new_storage(self) -> Any:
        dim = self.vectors.dim
        if self.vectors.dtype == "float32":
            return faiss.IndexFlatL2(dim)
        storage = faiss.IndexScalarQuantizer(dim, _quantiser(self.vectors.dtype), faiss.METRIC_L2)
        storage.is_trained = True
        return storage

    def catch_up(self, committed: int, batch: int = 65536, one_thread: bool = False) -> None:
        """Add the stored rows the graph does not hold yet, in batches: with ``one_thread``
        (work beside other work) by the compiled insertion where it serves, else by faiss on
        all its threads."""
        if self._mapped_from is not None and self.rows < committed:
            self._own(committed)
        for start in range(self.rows, committed, batch):
            stop = min(start + batch, committed)
            codes = np.asarray(self.vectors.rows(committed)[start:stop])
            if one_thread and self._insertable():
                self._insert(codes)
            else:
                self._add(self.vectors.graph_values(codes), one_thread)

    def _add(self, values: Vectors, one_thread: bool) -> None:
        """faiss's own insertion; ``one_thread``: on this thread alone (OpenMP's setting is
        per thread: others keep theirs)."""
        threads = faiss.omp_get_max_threads()
        if one_thread:
            faiss.omp_set_num_threads(1)
        try:
            self.index.add(values)
        finally:
            faiss.omp_set_num_threads(threads)

    def _insertable(self) -> bool:
        """Whether the compiled insertion can grow this graph: one over the file's own 8-bit
        codes (as the walk reads them), in memory of its own."""
        vectors = self.vectors
        return (
            vectors.dtype == "int8"
            and vectors.offset == 128
            and vectors.dim <= MAX_DIM
            and GraphWalk.available()
            and isinstance(self.index, faiss.IndexHNSWSQ)
        )

    def _insert(self, codes: npt.NDArray[np.uint8]) -> None:
        storage = faiss.downcast_index(self.index.storage)
        first = self.rows
        storage.add_sa_codes(np.ascontiguousarray(codes))
        self.index.hnsw.prepare_level_tab(len(codes), False)
        self.index.ntotal = storage.ntotal
        held = faiss.rev_swig_ptr(storage.codes.data(), storage.codes.size())
        walk.insert(self.index.hnsw, held.reshape(-1, self.vectors.dim), first, faiss)

    def copy(self) -> AnnIndex:
        """The same graph in memory of its own, to grow while others search this one (a mapped
        graph is read from its file again: its arrays are pages that cannot grow)."""
        twin = AnnIndex(self.vectors, self.settings)
        if self._mapped_from is None:
            twin.index = faiss.clone_index(self.index)
        elif self.rows:
            twin._mapped_from = self._mapped_from
            twin._own(self.rows)
        return twin

    def search(
        self,
        query: Vectors,
        k: int,
        allowed: npt.NDArray[np.uint8] | None,
        ef: int | None = None,
    ) -> npt.NDArray[np.int64]:
        """Candidate rows for ``query``; ``allowed`` is a little-endian bitmap of usable rows."""
        ef_search = max(ef or self.settings.ef_search, k)
        walk = self._walk()
        if walk is not None:  # the query as the file's own codes
            return walk.search(self.vectors.encode(query[None, :])[0], k, ef_search, allowed)
        selector = None if allowed is None else faiss.IDSelectorBitmap(allowed)
        if selector is None:
            params = self._params.get(ef_search) or self._cached_params(ef_search)
        else:
            params = faiss.SearchParametersHNSW()
            params.efSearch = ef_search
            params.sel = selector  # faiss keeps a bare pointer: ``selector`` holds it alive
        point = np.ascontiguousarray(self.vectors.graph_query(query[None, :]), dtype=np.float32)
        distances = np.empty((1, k), dtype=np.float32)
        ids = np.empty((1, k), dtype=np.int64)
        # The C entry point: faiss's numpy wrapper costs a tenth of a small graph walk.
        ptr = faiss.swig_ptr
        self.index.search_c(1, ptr(point), k, ptr(distances), ptr(ids), params)
        found: npt.NDArray[np.int64] = ids[0]
        return found[found >= 0]

    def nearest(
        self,
        query: Vectors,
        k: int,
        candidates: int,
        allowed: npt.NDArray[np.uint8] | None,
        ef: int | None = None,
    ) -> list[tuple[int, float]] | None:
        """(row, exact score) of the k best of ``candidates`` graph results, in one compiled
        call; None where the walk does not serve (then ``search`` and a re-score do)."""
        walk = self._walk()
        if walk is None:
            return None
        ef_search = max(ef or self.settings.ef_search, candidates)
        return walk.nearest(query, self.vectors.scale, k, candidates, ef_search, allowed)

    def _walk(self) -> GraphWalk | None:
        """The compiled walk, for a graph over the vector file's own 8-bit codes (re-made when
        the graph has grown: faiss may have moved its arrays)."""
        vectors = self.vectors
        # Wider rows than MAX_DIM could overflow the walk's 32-bit distances: faiss scores them.
        walkable = vectors.dtype == "int8" and vectors.offset and vectors.dim <= MAX_DIM
        if not (walkable and GraphWalk.available()):
            return None
        if self._walker is None or self._walker.rows != self.rows:
            codes = np.asarray(self.vectors.rows(self.rows))
            source = str(self._mapped_from or "the graph")
            self._walker = GraphWalk(self.index.hnsw, codes, faiss, source) if self.rows else None
        return self._walker

    def _cached_params(self, ef_search: int) -> Any:
        params = self._params[ef_search] = faiss.SearchParametersHNSW()
        params.efSearch = ef_search
        return params

    def save(self, path: Path, record: Callable[[int], None] | None = None) -> None:
        """Write the graph alone (its codes are the vector file's), atomically: a crash leaves
        the old file or the new one, never half of one. ``record`` gets the new file's CRC-32
        before it replaces the old one (the file cannot say which vectors it was built on).

        Raises StoreError when the file cannot be written (disk full, read-only folder).
        """
        tmp = path.with_suffix(".tmp")
        storage = self.index.storage
        try:
            self.index.storage = None
            faiss.write_index(self.index, str(tmp))
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
            if record is not None:
                record(file_crc(tmp))
            os.replace(tmp, path)
            self.file_stamp = file_stamp(path)
        except (OSError, RuntimeError) as exc:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise StoreError(f"{path}: cannot save the index: {exc}") from exc
        finally:
            self.index.storage = storage
        self.saved_rows = self.rows

    def load(self, path: Path, committed: int) -> bool:
        """Read a saved graph over the first ``committed`` stored rows; False (and an empty
        graph) when it is missing, unreadable, of another kind or ahead of those rows."""
        stamp = file_stamp(path)  # before reading: a save meanwhile shows as a change
        if stamp is None:
            return False
        try:
            # Mapped: the graph's links stay in the page cache, so open costs no copy.
            index = faiss.read_index(str(path), faiss.IO_FLAG_MMAP_IFC)
        except RuntimeError:
            return False
        if not self._fits(index, committed) or self.vectors.stored_rows() < index.ntotal:
            return False  # of another kind, or over a damaged vector file (check reports it)
        self.index = index
        self._walker = None
        self._mapped_from = path
        self.file_stamp = stamp
        self._attach_storage()
        self.saved_rows = self.rows
        _release_pages(path)
        return True

    def _fits(self, index: Any, committed: int) -> bool:
        """A graph alone (no codes of its own) of this store's dimension, within its rows."""
        kind = faiss.IndexHNSWFlat if self.vectors.dtype == "float32" else faiss.IndexHNSWSQ
        return (
            isinstance(index, kind)
            and index.storage is None
            and index.d == self.vectors.dim
            and index.ntotal <= committed
        )

    def _attach_storage(self, owned: bool = False) -> None:
        """Give the graph its codes: a view of the vector file's pages, or (to grow, or for a
        file in the old signed int8 layout) a copy of them."""
        storage = self._new_storage()
        rows = self.rows
        if self.vectors.graph_viewable and not owned:
            pages = self.vectors.rows(rows) if rows else np.zeros((0, self.vectors.dim), np.uint8)
            _view(storage.codes, pages)
            storage.ntotal = rows
            self._pages = pages
        else:
            for start in range(0, rows, 65536):
                codes = np.asarray(self.vectors.rows(rows)[start : start + 65536])
                storage.add(self.vectors.graph_values(codes))
            self._pages = None
        self.index.own_fields = False
        self.index.storage = storage
        self._storage = storage

    def _own(self, committed: int) -> None:
        """Re-read the mapped graph into memory, with its codes copied, so that it can grow
        (the file may meanwhile hold a newer save of more rows: still a start to build on)."""
        assert self._mapped_from is not None
        try:
            index = faiss.read_index(str(self._mapped_from))
        except RuntimeError:  # replaced or removed meanwhile: rebuild from the vector file
            index = None
        self._mapped_from = None
        self._walker = None
        if index is None or not self._fits(index, committed):
            self.index = self._new_index()
            return
        self.index = index
        self._attach_storage(owned=True)


def file_crc(path: Path) -> int:
    """CRC-32 of a whole file, read in 1 MiB pieces."""
    crc = 0
    with open(path, "rb") as fh:
        while piece := fh.read(1 << 20):
            crc = zlib.crc32(piece, crc)
    return crc


def newer_graph(current: AnnIndex, path: Path, committed: int) -> AnnIndex | None:
    """The saved graph at ``path`` when it holds more rows than ``current`` (another process
    built it: mapping it beats adding those rows here); None otherwise. A file is read once
    per change: ``current`` remembers the last one it was compared with."""
    stamp = file_stamp(path)
    if stamp is None or stamp == current.file_stamp:
        return None
    current.file_stamp = stamp
    fresh = AnnIndex(current.vectors, current.settings)
    if not fresh.load(path, committed) or fresh.rows <= current.rows:
        return None
    return fresh


def file_stamp(path: Path) -> tuple[int, int, int] | None:
    """What changes when a file is replaced or rewritten: inode, mtime and size."""
    try:
        info = path.stat()
    except OSError:
        return None
    return info.st_ino, info.st_mtime_ns, info.st_size


def saved_rows(path: Path) -> int | None:
    """How many rows a saved graph holds; None when it cannot be read."""
    try:
        return int(faiss.read_index(str(path), faiss.IO_FLAG_MMAP_IFC).ntotal)
    except RuntimeError:
        return None


def _release_pages(path: Path) -> None:
    """Drop the pages faiss touched while reading a mapped graph from this process's resident
    set: they stay in the page cache and fault back in as searches visit them, so opening a
    large graph costs neither a copy nor resident memory (Linux; elsewhere a no-op)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        madvise = libc.madvise
        with open("/proc/self/maps", encoding="utf-8") as maps:
            lines = [line.split() for line in maps]
    except (OSError, AttributeError):
        return
    madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    real = os.path.realpath(path)
    for fields in lines:
        # Read-only mappings only: dropping a written private page would lose the write.
        if len(fields) >= 6 and fields[5] == real and "w" not in fields[1]:
            start, end = (int(x, 16) for x in fields[0].split("-"))
            madvise(start, end - start, _MADV_DONTNEED)


def _quantiser(dtype: str) -> int:
    """The faiss scalar quantiser that reads a vector file of ``dtype`` byte for byte."""
    qt = faiss.ScalarQuantizer
    return int(qt.QT_8bit_direct if dtype == "int8" else qt.QT_fp16)


def _view(codes: Any, pages: np.ndarray) -> None:
    """Point a faiss byte vector at ``pages`` without copying (faiss never frees a view)."""
    pointer = faiss.swig_ptr(pages.reshape(-1).view(np.uint8))
    codes.is_owned = False
    codes.view_data = codes.c_ptr = pointer
    codes.view_size = codes.c_size = pages.nbytes
