"""Quantised vectors in an append-only, memory-mapped file (invariant 4: map, never load).

A row's position in the file is its passage's ``row``. The file may hold a tail past the
committed count after a crash; readers map only committed rows and the writer trims the tail.
int8 rows are stored offset by 128 (bytes 1..255), the layout faiss's direct 8-bit quantiser
reads, so the ANN graph can search the file's own pages instead of a copy of them. Stores made
before that layout keep signed bytes until `compact` rewrites them.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import numpy.typing as npt

from answerdb.errors import InputError, StoreError
from answerdb.store.embedded.sums import Block, block_sums
from answerdb.types import Vectors

# Vectors are derived from the passages' text (invariant 1): missing or damaged ones are made again.
REPAIR_HINT = "run `answerdb repair` to embed them again from the passages"
DTYPES = {"int8": np.int8, "float16": np.float16, "float32": np.float32}
# int8 codes are x * scale, rounded. The default clips unit-vector components beyond ±0.5;
# a new store fits its scale to its first batch (fit_int8_scale) and records it.
INT8_SCALE = 254.0


# The finest scale a store may fit: components below ±0.124 use the full int8 range.
MAX_INT8_SCALE = 1024.0
# A first batch this large shows the components' range well enough to cut finer than the default.
FIT_FINER_ROWS = 1000
HEADROOM = 1.1


def fit_int8_scale(vectors: Vectors) -> float:
    """The scale for a new store, from its first batch.

    Never clips that batch: low-dimensional vectors (GloVe's 50) have components near ±0.9,
    and clipping them at ±0.5 costs a third of recall@10. A large first batch (a bulk import)
    may also cut finer than the default: 384-d embeddings peak near ±0.3, and the finer step
    halves the rounding error (recall@10 0.94 → 0.97 on the bench's set). Later components
    beyond the range are clipped, as the default clips beyond ±0.5.
    """
    peak = max(float(vectors.max()), -float(vectors.min())) if vectors.size else 0.0
    if peak == 0:
        return INT8_SCALE
    if len(vectors) < FIT_FINER_ROWS:
        return min(INT8_SCALE, 127 / peak)
    return min(MAX_INT8_SCALE, 127 / (peak * HEADROOM))


class VectorFile:
    """Rows of ``dim`` components of one dtype, appended in batches and read by mapping."""

    def __init__(
        self, path: Path, dim: int, dtype: str, scale: float = INT8_SCALE, offset: bool = True
    ) -> None:
        if dtype not in DTYPES:
            raise InputError(f"unknown vector dtype {dtype!r}; choose one of {sorted(DTYPES)}")
        self.path = path
        self.dim = dim
        self.dtype = dtype
        self.scale = scale  # int8 only: code = round(x * scale)
        # int8 only: bytes hold code + 128 (False: the signed bytes of older stores).
        self.offset = 128 if dtype == "int8" and offset else 0
        self._np_dtype = np.dtype(np.uint8 if self.offset else DTYPES[dtype])
        self._row_bytes = dim * self._np_dtype.itemsize
        self._map: np.ndarray | None = None
        self._mapped_rows = 0

    @property
    def row_bytes(self) -> int:
        return self._row_bytes

    @property
    def graph_viewable(self) -> bool:
        """Whether the ANN graph can read its codes from this file's pages as they are."""
        return self.dtype != "int8" or self.offset == 128

    def encode(self, vectors: Vectors) -> np.ndarray:
        """Float vectors to the stored representation."""
        if self.dtype == "int8":
            codes = np.multiply(vectors, self.scale, dtype=np.float32)  # in place from here on
            np.rint(codes, out=codes)
            np.clip(codes, -127, 127, out=codes)
            codes += self.offset
            return codes.astype(self._np_dtype)
        return np.asarray(vectors, dtype=self._np_dtype)

    def decode(self, codes: np.ndarray) -> Vectors:
        """Stored rows back to float32 (approximate for int8 and float16)."""
        if self.dtype == "int8":
            return (codes.astype(np.float32) - self.offset) / self.scale
        return codes.astype(np.float32)

    def graph_values(self, codes: np.ndarray) -> Vectors:
        """Stored rows as the values the ANN graph holds (int8: the offset codes)."""
        if self.dtype == "int8":
            return codes.astype(np.float32) + (128 - self.offset)
        return codes.astype(np.float32)

    def graph_query(self, query: Vectors) -> Vectors:
        """A float query in the graph's space (int8: scaled and offset like the codes)."""
        if self.dtype == "int8":
            return query * self.scale + 128.0
        return query

    def append(self, vectors: Vectors, at_row: int) -> list[Block]:
        """Write rows starting at ``at_row`` (the committed count), trimming any crash tail.

        Returns the checksums of the rows written, block by block, for the catalog to keep;
        raises StoreError when the disk is full or read-only (the tail written so far stays
        invisible) or when the file lacks committed rows (appending would zero-fill them).
        """
        data = self.encode(vectors).tobytes()
        if self.stored_rows() < at_row:
            raise StoreError(self._short(at_row))
        try:
            with open(self.path, "ab") as fh:
                fh.truncate(at_row * self._row_bytes)
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
        except OSError as exc:
            raise StoreError(f"{self.path}: cannot write vectors: {exc.strerror}") from exc
        return block_sums(data, at_row, self._row_bytes)

    def overwrite(self, vectors: Vectors, at_row: int) -> list[Block]:
        """Write rows in place from ``at_row`` (committed rows made again by `repair`),
        extending a short or missing file; their checksums. StoreError when the disk refuses."""
        data = self.encode(vectors).tobytes()
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                os.pwrite(fd, data, at_row * self._row_bytes)
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            raise StoreError(f"{self.path}: cannot write vectors: {exc.strerror}") from exc
        self.close()  # mapped before: map the rows again, as written
        return block_sums(data, at_row, self._row_bytes)

    def stored_rows(self) -> int:
        """How many whole rows the file holds, committed or not."""
        size = self.path.stat().st_size if self.path.exists() else 0
        return size // self._row_bytes if self._row_bytes else 0

    def rows(self, count: int) -> np.ndarray:
        """The first ``count`` stored rows as a read-only map (re-mapped when the file grew)."""
        if count == 0:
            return np.zeros((0, self.dim), dtype=self._np_dtype)
        if self._map is None or self._mapped_rows < count:
            self._map = self._open_map(count)
            self._mapped_rows = count
        return self._map[:count]

    def _open_map(self, count: int) -> np.ndarray:
        try:
            size = self.path.stat().st_size
            if size >= count * self._row_bytes:
                shape = (count, self.dim)
                mapped = np.memmap(self.path, dtype=self._np_dtype, mode="r", shape=shape)
                return np.asarray(mapped)  # a plain array on the same pages: cheaper to index
        except FileNotFoundError:  # a read overtaken by a compaction retries on the new files
            raise StoreError(f"{self.path}: missing; {REPAIR_HINT}") from None
        except OSError as exc:
            raise StoreError(f"{self.path}: cannot read vectors: {exc.strerror}") from exc
        raise StoreError(self._short(count))

    def _short(self, count: int) -> str:
        held = self.stored_rows()
        return f"{self.path}: holds {held} vectors, the catalog has {count}; {REPAIR_HINT}"

    def scores(self, query: Vectors, rows: npt.NDArray[np.int64], count: int) -> Vectors:
        """Exact inner products of ``query`` with the given stored rows."""
        if len(rows) == 0:
            return np.zeros(0, dtype=np.float32)
        codes = self.rows(count)[rows]
        if self.dtype != "int8":
            return codes.astype(np.float32) @ query
        # (codes - offset) @ q / scale, without a decoded copy of the rows
        raw = codes.astype(np.float32) @ query
        return (raw - self.offset * float(query.sum())) / self.scale

    def close(self) -> None:
        self._map = None
        self._mapped_rows = 0
