"""The approximate nearest-neighbour index (faiss HNSW) over the stored vectors.

Derived data (invariant 1): it is rebuilt from the vector file whenever it is missing,
stale or damaged. For int8 storage the graph keeps the same int8 codes (faiss's direct 8-bit
scalar quantiser) and searches by L2, which ranks unit vectors as inner product does.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import faiss as _faiss
import numpy as np
import numpy.typing as npt

from answerdb.store.vectors import INT8_SCALE, Matrix, VectorFile

# faiss's bundled stubs describe its SWIG layer, not the numpy-friendly API used here.
faiss: Any = _faiss

DEFAULT_M = 16
DEFAULT_EF_CONSTRUCTION = 128
DEFAULT_EF_SEARCH = 96


class AnnIndex:
    """An HNSW graph whose ids are vector-file rows."""

    def __init__(
        self,
        vectors: VectorFile,
        m: int = DEFAULT_M,
        ef_construction: int = DEFAULT_EF_CONSTRUCTION,
    ) -> None:
        self.vectors = vectors
        self.m = m
        self.ef_construction = ef_construction
        self.index = self._new_index()
        self.saved_rows = 0

    @property
    def rows(self) -> int:
        return int(self.index.ntotal)

    def _new_index(self) -> faiss.Index:
        dim = self.vectors.dim
        if self.vectors.dtype == "int8":
            index = faiss.IndexHNSWSQ(dim, faiss.ScalarQuantizer.QT_8bit_direct, self.m)
            index.is_trained = True
        else:
            index = faiss.IndexHNSWFlat(dim, self.m)
        index.hnsw.efConstruction = self.ef_construction
        return index

    def _as_index_space(self, floats: Matrix) -> Matrix:
        if self.vectors.dtype == "int8":
            return floats * INT8_SCALE + 128.0
        return floats

    def catch_up(self, committed: int, batch: int = 65536) -> None:
        """Add the stored rows the graph does not hold yet, in batches."""
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
        ef: int = DEFAULT_EF_SEARCH,
    ) -> npt.NDArray[np.int64]:
        """Candidate rows for ``query``; ``allowed`` is a little-endian bitmap of usable rows."""
        params = faiss.SearchParametersHNSW()
        params.efSearch = max(ef, k)
        if allowed is not None:
            selector = faiss.IDSelectorBitmap(allowed)
            params.sel = selector
        _, ids = self.index.search(self._as_index_space(query[None, :]), k, params=params)
        found: npt.NDArray[np.int64] = ids[0]
        return found[found >= 0]

    def save(self, path: Path) -> None:
        """Write atomically: a crash leaves the old file or the new one, never half of one."""
        tmp = path.with_suffix(".tmp")
        faiss.write_index(self.index, str(tmp))
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        self.saved_rows = self.rows

    def load(self, path: Path) -> bool:
        """Read a saved graph; False (and an empty graph) when it is missing or unreadable."""
        if not path.exists():
            return False
        try:
            self.index = faiss.read_index(str(path))
        except RuntimeError:
            self.index = self._new_index()
            return False
        self.saved_rows = self.rows
        return True
