"""Bench data: GloVe from HDF5 or a synthetic set like sentence embeddings, with exact truth.

Everything is L2-normalised (cosine ranks as inner product). Each vector carries a ``bucket``
in 0..999 so that ``bucket < 500 / 100 / 10 / 1`` selects 50%, 10%, 1% and 0.1% of it.
Sets and their exact neighbours are cached under ~/.cache/answerdb/bench/.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

CACHE = Path.home() / ".cache" / "answerdb" / "bench"
K = 10
SELECTIVITY = {"50%": 500, "10%": 100, "1%": 10, "0.1%": 1}
FILTER_QUERIES = 100


@dataclass
class BenchSet:
    """Base vectors, queries, exact top-K ids, buckets and exact top-K ids under each filter."""

    name: str
    base: np.ndarray
    queries: np.ndarray
    truth: np.ndarray
    buckets: np.ndarray
    filtered_truth: dict[str, np.ndarray]
    file: Path


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def synthetic(n: int, dim: int, queries: int, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """Clustered unit vectors: topics (cluster centres) sharing a common direction, as
    sentence-embedding models produce (neighbours close, ranks tightly packed)."""
    rng = np.random.default_rng(seed)
    topics = max(16, n // 500)
    common = rng.standard_normal(dim)
    centres = _unit(rng.standard_normal((topics, dim)) + 0.6 * common / np.linalg.norm(common))

    def draw(count: int) -> np.ndarray:
        out = np.empty((count, dim), dtype=np.float32)
        for start in range(0, count, 100_000):
            size = min(100_000, count - start)
            which = rng.integers(0, topics, size)
            noise = rng.standard_normal((size, dim)).astype(np.float32) / np.sqrt(dim)
            out[start : start + size] = _unit(centres[which] + 0.9 * noise)
        return out

    return draw(n), draw(queries)


def glove(path: Path, queries: int) -> tuple[np.ndarray, np.ndarray]:
    """ann-benchmarks' angular HDF5 (train, test), normalised; exact truth is recomputed."""
    import h5py

    with h5py.File(path, "r") as fh:
        return _unit(np.asarray(fh["train"])), _unit(np.asarray(fh["test"])[:queries])


def exact_top(base: np.ndarray, queries: np.ndarray, k: int = K) -> np.ndarray:
    """Exact top-k ids by inner product, in blocks so that memory stays small."""
    best_ids = np.zeros((len(queries), 0), dtype=np.int64)
    best = np.zeros((len(queries), 0), dtype=np.float32)
    for start in range(0, len(base), 200_000):
        scores = queries @ base[start : start + 200_000].T
        top = np.argpartition(-scores, min(k, scores.shape[1] - 1), axis=1)[:, :k]
        best = np.hstack([best, np.take_along_axis(scores, top, 1)])
        best_ids = np.hstack([best_ids, top + start])
    order = np.argsort(-best, axis=1)[:, :k]
    return np.take_along_axis(best_ids, order, 1)


def filtered_top(
    base: np.ndarray, queries: np.ndarray, buckets: np.ndarray, limit: int
) -> np.ndarray:
    """Exact top-K among the vectors with bucket < limit."""
    keep = np.nonzero(buckets < limit)[0]
    return keep[exact_top(base[keep], queries)]


def load(name: str, base: np.ndarray, queries: np.ndarray, seed: int = 7) -> BenchSet:
    """Attach truth and buckets, computing them once and caching them on disk."""
    CACHE.mkdir(parents=True, exist_ok=True)
    file = CACHE / f"{name}.npz"
    if file.exists():
        saved = np.load(file)
        truth, buckets = saved["truth"], saved["buckets"]
        filtered = {s: saved[f"f{s}"] for s in SELECTIVITY}
    else:
        truth = exact_top(base, queries)
        buckets = np.random.default_rng(seed + 1).integers(0, 1000, len(base))
        few = queries[:FILTER_QUERIES]
        filtered = {s: filtered_top(base, few, buckets, lim) for s, lim in SELECTIVITY.items()}
        np.savez(file, truth=truth, buckets=buckets, **{f"f{s}": v for s, v in filtered.items()})
    return BenchSet(name, base, queries, truth, buckets, filtered, file)


def vectors_file(bench: BenchSet) -> Path:
    """The base vectors as .npy beside the truth, for the measuring subprocesses to map."""
    file = CACHE / f"{bench.name}.base.npy"
    if not file.exists():
        np.save(file, bench.base)
    queries = CACHE / f"{bench.name}.queries.npy"
    if not queries.exists():
        np.save(queries, bench.queries)
    return file


def recall(found: list[np.ndarray], truth: np.ndarray) -> float:
    """Mean share of the true top-K among the ids found (fewer when a filter matches < K)."""
    shares = [
        len(np.intersect1d(f[:K], t[:K])) / max(1, len(t[:K]))
        for f, t in zip(found, truth, strict=False)
    ]
    return float(np.mean(shares)) if shares else 0.0
