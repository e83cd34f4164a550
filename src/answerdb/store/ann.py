"""The approximate nearest-neighbour index (faiss HNSW) over the stored vectors.

Derived data (invariant 1): it is rebuilt from the vector file whenever it is missing,
stale or damaged. For int8 storage the graph keeps the same int8 codes (faiss's direct 8-bit
scalar quantiser) and searches by L2, which ranks unit vectors as inner product does.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faiss as _faiss
import numpy as np
import numpy.typing as npt

from answerdb.errors import InputError, StoreError
from answerdb.store.vectors import Matrix, VectorFile

# faiss's bundled stubs describe its SWIG layer, not the numpy-friendly API used here.
faiss: Any = _faiss

DEFAULT_M = 16
DEFAULT_EF_CONSTRUCTION = 128
DEFAULT_EF_SEARCH = 96


@dataclass(frozen=True)
class IndexSettings:
    """HNSW parameters: ``m`` links per node and ``ef_construction`` shape the graph (they
    apply to graphs built after they are set: new rows, `reindex`); ``ef_search`` is the
    candidate list of a query (higher: better recall, fewer queries per second)."""

    m: int = DEFAULT_M
    ef_construction: int = DEFAULT_EF_CONSTRUCTION
    ef_search: int = DEFAULT_EF_SEARCH

    def __post_init__(self) -> None:
        for name in ("m", "ef_construction", "ef_search"):
            value = getattr(self, name)
            if not isinstance(value, int) or not 2 <= value <= 4096:
                raise InputError(f"index {name} must be an integer in 2..4096, not {value!r}")


class AnnIndex:
    """An HNSW graph whose ids are vector-file rows."""

    def __init__(self, vectors: VectorFile, settings: IndexSettings | None = None) -> None:
        self.vectors = vectors
        self.settings = settings or IndexSettings()
        self.index = self._new_index()
        self.saved_rows = 0
        # A graph read with faiss's mmap flag shares pages with the file and cannot grow.
        self._mapped_from: Path | None = None

    @property
    def rows(self) -> int:
        return int(self.index.ntotal)

    def _new_index(self) -> faiss.Index:
        dim = self.vectors.dim
        if self.vectors.dtype == "int8":
            quantiser = faiss.ScalarQuantizer.QT_8bit_direct
            index = faiss.IndexHNSWSQ(dim, quantiser, self.settings.m)
            index.is_trained = True
        else:
            index = faiss.IndexHNSWFlat(dim, self.settings.m)
        index.hnsw.efConstruction = self.settings.ef_construction
        return index

    def _as_index_space(self, floats: Matrix) -> Matrix:
        if self.vectors.dtype == "int8":
            return floats * self.vectors.scale + 128.0
        return floats

    def catch_up(self, committed: int, batch: int = 65536) -> None:
        """Add the stored rows the graph does not hold yet, in batches."""
        if self._mapped_from is not None and self.rows < committed:
            self._own()
            if self.rows > committed:  # the file was replaced by a newer save: rebuild
                self.index = self._new_index()
        for start in range(self.rows, committed, batch):
            stop = min(start + batch, committed)
            codes = np.asarray(self.vectors.rows(committed)[start:stop])
            if self.vectors.dtype == "int8":
                self.index.add(codes.astype(np.float32) + 128.0)
            else:
                self.index.add(codes.astype(np.float32))

    def search(
        self,
        query: Matrix,
        k: int,
        allowed: npt.NDArray[np.uint8] | None,
        ef: int | None = None,
    ) -> npt.NDArray[np.int64]:
        """Candidate rows for ``query``; ``allowed`` is a little-endian bitmap of usable rows."""
        params = faiss.SearchParametersHNSW()
        params.efSearch = max(ef or self.settings.ef_search, k)
        if allowed is not None:
            selector = faiss.IDSelectorBitmap(allowed)
            params.sel = selector
        _, ids = self.index.search(self._as_index_space(query[None, :]), k, params=params)
        found: npt.NDArray[np.int64] = ids[0]
        return found[found >= 0]

    def save(self, path: Path) -> None:
        """Write atomically: a crash leaves the old file or the new one, never half of one.

        Raises StoreError when the file cannot be written (disk full, read-only folder).
        """
        tmp = path.with_suffix(".tmp")
        try:
            faiss.write_index(self.index, str(tmp))
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except (OSError, RuntimeError) as exc:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise StoreError(f"{path}: cannot save the index: {exc}") from exc
        self.saved_rows = self.rows

    def load(self, path: Path) -> bool:
        """Read a saved graph; False (and an empty graph) when it is missing or unreadable."""
        if not path.exists():
            return False
        try:
            # Mapped: the graph's codes stay in the page cache, so open costs no copy.
            self.index = faiss.read_index(str(path), faiss.IO_FLAG_MMAP_IFC)
        except RuntimeError:
            self.index = self._new_index()
            return False
        if self.index.d != self.vectors.dim:  # saved before the model was recorded
            self.index = self._new_index()
            return False
        self._mapped_from = path
        self.saved_rows = self.rows
        return True

    def _own(self) -> None:
        """Re-read the mapped graph into memory so that rows can be added to it."""
        assert self._mapped_from is not None
        try:
            self.index = faiss.read_index(str(self._mapped_from))
        except RuntimeError:  # replaced or removed meanwhile: rebuild from the vector file
            self.index = self._new_index()
        self._mapped_from = None
