"""The compiled HNSW walk over 8-bit codes (``_walk.c``), bound with ctypes.

faiss saves and maps the graph; for an int8 store this walks it instead of faiss's own search
(~1.4x faster per query, same candidates but for ties), and ``insert`` grows it on one thread
(~0.78x faiss's CPU per row, in faiss's own arrays). Without the compiled module
(``GraphWalk.available()`` is False) faiss searches and grows it.
"""

from __future__ import annotations

import ctypes
import threading
from typing import Any

import numpy as np
import numpy.typing as npt

from answerdb.errors import StoreError

try:
    from answerdb.store.embedded import _walk  # type: ignore[attr-defined]

    _LIB: ctypes.CDLL | None = ctypes.CDLL(_walk.__file__)
except (ImportError, OSError):
    _LIB = None

# Candidates a walk may hold beyond its results: plenty for any ef (the walk stops pushing,
# never writes past it).
SCRATCH_PER_EF = 64
# The widest rows the walk scores: 32-bit distances of wider ones could overflow (faiss then).
MAX_DIM = 32768
# What the walk returns for a link or entry point outside the graph (_walk.c WALK_DAMAGED).
_DAMAGED = -1
_P = ctypes.c_void_p


class _Graph(ctypes.Structure):
    _fields_ = [
        ("codes", _P),
        ("neighbors", _P),
        ("offsets", _P),
        ("cum_nb", _P),
        ("dim", ctypes.c_int64),
        ("entry", ctypes.c_int64),
        ("max_level", ctypes.c_int64),
        ("rows", ctypes.c_int64),
        ("n_links", ctypes.c_int64),
    ]


if _LIB is not None:
    _LIB.answerdb_walk.restype = ctypes.c_int64
    _LIB.answerdb_walk.argtypes = [
        ctypes.POINTER(_Graph), _P, ctypes.c_int64, ctypes.c_int64, _P, _P, ctypes.c_uint32,
        _P, _P, ctypes.c_int64,
    ]  # fmt: skip
    _LIB.answerdb_nearest.restype = ctypes.c_int64
    _LIB.answerdb_nearest.argtypes = [
        ctypes.POINTER(_Graph), _P, ctypes.c_float, ctypes.c_int64, ctypes.c_int64,
        ctypes.c_int64, _P, _P, ctypes.c_uint32, _P, _P, _P, ctypes.c_int64, _P,
    ]  # fmt: skip
    _LIB.answerdb_insert.restype = ctypes.c_int64
    _LIB.answerdb_insert.argtypes = [
        ctypes.POINTER(_Graph), _P, ctypes.c_int64, ctypes.c_int64, _P, _P, _P, ctypes.c_int64,
    ]  # fmt: skip


class _Scratch(threading.local):
    """Each thread's visited tags and buffers (a walk runs without the GIL)."""

    def __init__(self) -> None:
        self.visited = np.zeros(0, dtype=np.uint32)
        self.tag = 0
        self.items = np.zeros(0, dtype=np.int64)
        self.found = np.zeros(0, dtype=np.int64)
        self.scores = np.zeros(0, dtype=np.float32)
        self.codes = np.zeros(0, dtype=np.uint8)

    def next_tag(self, rows: int) -> int:
        if len(self.visited) < rows or self.tag >= 0xFFFFFFFF:
            self.visited = np.zeros(max(rows, 2 * len(self.visited)), dtype=np.uint32)
            self.tag = 0
        self.tag += 1
        return self.tag

    def ready(self, rows: int, ef: int, found: int, dim: int) -> tuple[int, int]:
        """Buffers for a walk of ``ef`` over ``rows`` that returns ``found`` rows of ``dim``;
        returns its visited tag and its candidates' capacity."""
        capacity = ef * SCRATCH_PER_EF + 2
        if len(self.items) < capacity:
            self.items = np.zeros(capacity, dtype=np.int64)
        if len(self.found) < found:
            self.found = np.zeros(found, dtype=np.int64)
            self.scores = np.zeros(found, dtype=np.float32)
        if len(self.codes) < dim:
            self.codes = np.zeros(dim, dtype=np.uint8)
        return self.next_tag(rows), capacity


class GraphWalk:
    """Searches a faiss HNSW graph over a matrix of 8-bit codes (uint8, value + 128); ``source``
    names the graph's file in errors (its links are that file's pages, checked as walked)."""

    def __init__(
        self, hnsw: Any, codes: npt.NDArray[np.uint8], faiss: Any, source: str = "the graph"
    ) -> None:
        # Views of faiss's arrays and of the codes: kept here so that they outlive the walk.
        levels = hnsw.cum_nneighbor_per_level
        self._arrays = [
            faiss.rev_swig_ptr(hnsw.neighbors.data(), hnsw.neighbors.size()),
            faiss.rev_swig_ptr(hnsw.offsets.data(), hnsw.offsets.size()),
            faiss.rev_swig_ptr(levels.data(), levels.size()),
            codes,
        ]
        neighbors, offsets, cum_nb, _ = self._arrays
        self.rows = len(codes)
        self.source = source
        if len(offsets) != self.rows + 1 or not 0 <= hnsw.max_level < len(cum_nb) - 1:
            self._damaged()
        self._graph = _Graph(
            codes.ctypes.data, neighbors.ctypes.data, offsets.ctypes.data, cum_nb.ctypes.data,
            codes.shape[1], hnsw.entry_point, hnsw.max_level, self.rows, len(neighbors),
        )  # fmt: skip
        self._scratch = _Scratch()

    def _damaged(self) -> None:
        raise StoreError(
            f"{self.source}: damaged (a link lies outside the graph); `answerdb repair` rebuilds it"
        )

    @staticmethod
    def available() -> bool:
        return _LIB is not None

    def search(
        self, query: npt.NDArray[np.uint8], k: int, ef: int, allowed: npt.NDArray[np.uint8] | None
    ) -> npt.NDArray[np.int64]:
        """The k nearest rows to ``query`` (codes), nearest first; ``allowed``: a
        little-endian bitmap of the rows that may be returned."""
        assert _LIB is not None
        scratch = self._scratch
        tag, capacity = scratch.ready(self.rows, ef, k, self._graph.dim)
        count = _LIB.answerdb_walk(
            ctypes.byref(self._graph), query.ctypes.data, ef, k,
            None if allowed is None else allowed.ctypes.data,
            scratch.visited.ctypes.data, tag, scratch.found.ctypes.data,
            scratch.items.ctypes.data, capacity,
        )  # fmt: skip
        if count == _DAMAGED:
            self._damaged()
        return scratch.found[:count].copy()

    def nearest(
        self,
        query: npt.NDArray[np.float32],
        scale: float,
        k: int,
        candidates: int,
        ef: int,
        allowed: npt.NDArray[np.uint8] | None,
    ) -> list[tuple[int, float]]:
        """(row, score) of the k best of ``candidates`` walked rows, best first: scored by
        exact inner product of the float ``query`` with the rows' codes (x * ``scale`` + 128),
        the walk itself run with the query's own codes."""
        assert _LIB is not None
        scratch = self._scratch
        tag, capacity = scratch.ready(self.rows, ef, candidates, self._graph.dim)
        query = np.ascontiguousarray(query, dtype=np.float32)
        count = _LIB.answerdb_nearest(
            ctypes.byref(self._graph), query.ctypes.data, scale, ef, k, candidates,
            None if allowed is None else allowed.ctypes.data,
            scratch.visited.ctypes.data, tag, scratch.found.ctypes.data,
            scratch.scores.ctypes.data, scratch.items.ctypes.data, capacity,
            scratch.codes.ctypes.data,
        )  # fmt: skip
        if count == _DAMAGED:
            self._damaged()
        rows, scores = scratch.found[:count].tolist(), scratch.scores[:count].tolist()
        return list(zip(rows, scores, strict=True))


def insert(hnsw: Any, codes: npt.NDArray[np.uint8], first: int, faiss: Any) -> None:
    """Link rows ``first`` onwards of ``codes`` (every row the graph holds, uint8 value + 128)
    into faiss's ``hnsw``, in order, at the levels faiss drew for them (``prepare_level_tab``
    has sized their empty link slots); the entry point and top level come back updated."""
    assert _LIB is not None
    arrays = [
        faiss.rev_swig_ptr(hnsw.neighbors.data(), hnsw.neighbors.size()),
        faiss.rev_swig_ptr(hnsw.offsets.data(), hnsw.offsets.size()),
        faiss.rev_swig_ptr(
            hnsw.cum_nneighbor_per_level.data(), hnsw.cum_nneighbor_per_level.size()
        ),
        faiss.rev_swig_ptr(hnsw.levels.data(), hnsw.levels.size()),
    ]
    neighbors, offsets, cum_nb, levels = arrays
    graph = _Graph(
        codes.ctypes.data, neighbors.ctypes.data, offsets.ctypes.data, cum_nb.ctypes.data,
        codes.shape[1], hnsw.entry_point, hnsw.max_level, len(codes), len(neighbors),
    )  # fmt: skip
    ef = int(hnsw.efConstruction)
    scratch = _INSERTS
    tag = ctypes.c_uint32(scratch.next_tag(len(codes)))
    capacity = ef * SCRATCH_PER_EF + 3 * ef + 4 + int(cum_nb[1] - cum_nb[0])
    if len(scratch.items) < capacity:
        scratch.items = np.zeros(capacity, dtype=np.int64)
    status = _LIB.answerdb_insert(
        ctypes.byref(graph), levels.ctypes.data, first, ef, scratch.visited.ctypes.data,
        ctypes.byref(tag), scratch.items.ctypes.data, capacity,
    )  # fmt: skip
    scratch.tag = tag.value
    if status == _DAMAGED:
        raise StoreError("the graph being built is damaged (a link lies outside it)")
    hnsw.entry_point = graph.entry
    hnsw.max_level = graph.max_level


def faiss_links(hnsw: Any) -> npt.NDArray[np.int32]:
    """A view of every link slot of a faiss graph (-1 where empty)."""
    import faiss

    links: npt.NDArray[np.int32] = faiss.rev_swig_ptr(hnsw.neighbors.data(), hnsw.neighbors.size())
    return links


# Each thread's tags and buffers for insert (apart from its walks': a walk may run meanwhile).
_INSERTS = _Scratch()
