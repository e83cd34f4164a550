"""The compiled graph walk: the candidates faiss's own search finds, filters kept, growth
followed, and faiss's search when the walk is not there."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from answerdb.store.embedded import walk
from answerdb.store.embedded.filter_cache import bitmap
from answerdb.store.embedded.hnsw import AnnIndex
from answerdb.store.embedded.vectors import VectorFile

pytestmark = pytest.mark.skipif(not walk.GraphWalk.available(), reason="_walk is not built")
DIM = 48  # not a multiple of 16: the SIMD loop leaves a tail


def clustered(n: int, seed: int = 3) -> npt.NDArray[np.float32]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(20, DIM))
    points = centres[rng.integers(0, 20, n)] + 0.4 * rng.normal(size=(n, DIM))
    points /= np.linalg.norm(points, axis=1, keepdims=True)
    return points.astype(np.float32)


def index_of(tmp_path: Path, vectors: npt.NDArray[np.float32]) -> AnnIndex:
    file = VectorFile(tmp_path / "vectors.int8", DIM, "int8", scale=200.0)
    file.append(vectors, at_row=0)
    index = AnnIndex(file)
    index.catch_up(len(vectors))
    return index


def faiss_search(index: AnnIndex, query: npt.NDArray[np.float32], k: int) -> set[int]:
    available = walk.GraphWalk.available
    try:
        walk.GraphWalk.available = staticmethod(lambda: False)  # type: ignore[method-assign]
        return set(index.search(query, k, None, ef=64).tolist())
    finally:
        walk.GraphWalk.available = available  # type: ignore[method-assign]


def test_the_walk_finds_what_faiss_finds(tmp_path: Path) -> None:
    vectors = clustered(3000)
    index = index_of(tmp_path, vectors)
    queries = clustered(50, seed=9)
    overlap = [
        len(set(index.search(q, 10, None, ef=64).tolist()) & faiss_search(index, q, 10)) / 10
        for q in queries
    ]
    assert index._walker is not None  # the walk answered, not faiss
    assert np.mean(overlap) >= 0.9
    for row in (0, 1234, 2999):  # a stored vector finds itself first
        assert index.search(vectors[row], 5, None, ef=64)[0] == row


def test_nearest_is_the_walk_re_scored_exactly_in_one_call(tmp_path: Path) -> None:
    vectors = clustered(3000)
    index = index_of(tmp_path, vectors)
    allowed = bitmap(np.arange(1, 3000, 2, dtype=np.int64), 3000)
    for bits in (None, allowed):
        for q in clustered(20, seed=5):
            ranked = index.nearest(q, 10, 20, bits, ef=64)
            assert ranked is not None and len(ranked) == 10
            candidates = index.search(q, 20, bits, ef=64)  # the codes VectorFile.encode makes
            scored = index.vectors.scores(q, candidates, 3000).tolist()
            exact = dict(zip(candidates.tolist(), scored, strict=True))
            rows, scores = zip(*ranked, strict=True)
            assert np.allclose(scores, [exact[row] for row in rows], atol=1e-5)
            assert list(scores) == sorted(scores, reverse=True)
            left_out = [exact[row] for row in exact if row not in rows]
            assert min(scores) >= max(left_out) - 1e-5  # the best 10 of the 20 candidates
            assert bits is None or all(row % 2 == 1 for row in rows)


def test_the_walk_returns_allowed_rows_only(tmp_path: Path) -> None:
    vectors = clustered(3000)
    index = index_of(tmp_path, vectors)
    allowed_rows = np.arange(0, 3000, 3, dtype=np.int64)
    allowed = bitmap(allowed_rows, 3000)
    for q in clustered(20, seed=11):
        found = index.search(q, 10, allowed, ef=128)
        assert len(found) == 10 and set(found.tolist()) <= set(allowed_rows.tolist())
        best = allowed_rows[np.argmax(vectors[allowed_rows] @ q)]
        assert best in found


def test_the_walk_follows_the_graph_as_it_grows(tmp_path: Path) -> None:
    vectors = clustered(2000)
    index = index_of(tmp_path, vectors[:1000])
    assert index.search(vectors[10], 1, None)[0] == 10
    index.vectors.append(vectors[1000:], at_row=1000)
    index.catch_up(2000)
    assert index.search(vectors[1500], 1, None)[0] == 1500


def test_an_empty_graph_finds_nothing(tmp_path: Path) -> None:
    index = AnnIndex(VectorFile(tmp_path / "vectors.int8", DIM, "int8"))
    assert len(index.search(clustered(1)[0], 5, None)) == 0


def test_other_dtypes_search_through_faiss(tmp_path: Path) -> None:
    vectors = clustered(500)
    file = VectorFile(tmp_path / "vectors.float16", DIM, "float16")
    file.append(vectors, at_row=0)
    index = AnnIndex(file)
    index.catch_up(500)
    assert index.search(vectors[7], 1, None)[0] == 7
    assert index._walker is None


def test_walks_on_several_threads_keep_their_own_visited_marks(tmp_path: Path) -> None:
    index = index_of(tmp_path, clustered(3000))
    queries = clustered(200, seed=13)
    alone = [index.search(q, 10, None, ef=64).tolist() for q in queries]
    with ThreadPoolExecutor(max_workers=4) as pool:
        together = list(pool.map(lambda q: index.search(q, 10, None, ef=64).tolist(), queries))
    assert together == alone


def recall_at_10(index: AnnIndex, vectors: npt.NDArray[np.float32], seed: int) -> float:
    queries = clustered(100, seed=seed)
    truth = np.argsort(-(queries @ vectors.T), axis=1)[:, :10]
    found = [set(index.search(q, 10, None, ef=64).tolist()) for q in queries]
    return float(
        np.mean([len(f & set(t.tolist())) / 10 for f, t in zip(found, truth, strict=True)])
    )


def test_the_compiled_insertion_grows_a_graph_as_good_as_faiss_builds(tmp_path: Path) -> None:
    vectors = clustered(4000)
    by_faiss = index_of(tmp_path, vectors)
    inserted = AnnIndex(by_faiss.vectors)
    for stop in (1, 700, 2500, 4000):  # in steps, from an empty graph
        inserted.catch_up(stop, one_thread=True)
    assert inserted.rows == 4000 and inserted.index.hnsw.entry_point >= 0
    ours, theirs = recall_at_10(inserted, vectors, 5), recall_at_10(by_faiss, vectors, 5)
    assert ours >= 0.85 and ours >= theirs - 0.02  # float truth: codes tie near neighbours
    links = walk.faiss_links(inserted.index.hnsw)
    assert links.max() < 4000 and (links >= 0).sum() > 4000  # every row linked, none outside


def test_the_compiled_insertion_grows_a_graph_faiss_started(tmp_path: Path) -> None:
    vectors = clustered(3000)
    index = index_of(tmp_path, vectors[:1500])
    index.vectors.append(vectors[1500:], at_row=1500)
    index.catch_up(3000, one_thread=True)
    assert index.search(vectors[2500], 1, None)[0] == 2500
    assert recall_at_10(index, vectors, 7) >= 0.85


def test_a_copy_of_a_mapped_graph_grows_while_the_mapped_one_is_searched(tmp_path: Path) -> None:
    vectors = clustered(2000)
    saved = index_of(tmp_path, vectors[:1000])
    saved.save(tmp_path / "index.faiss")
    mapped = AnnIndex(saved.vectors)
    assert mapped.load(tmp_path / "index.faiss", 1000)
    mapped.vectors.append(vectors[1000:], at_row=1000)
    twin = mapped.copy()
    twin.catch_up(2000, one_thread=True)
    assert twin.search(vectors[1700], 1, None)[0] == 1700
    assert mapped.rows == 1000 and mapped.search(vectors[10], 1, None)[0] == 10
