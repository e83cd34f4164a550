"""The compiled walk does not trust the graph file: a damaged one is a StoreError, never a
read out of bounds; any number of links per node is walked; wide vectors go to faiss."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from answerdb.store.embedded import walk
from answerdb.store.embedded.hnsw import AnnIndex, faiss
from answerdb.store.embedded.vectors import VectorFile
from answerdb.types import IndexSettings

from .test_walk import DIM, clustered

pytestmark = pytest.mark.skipif(not walk.GraphWalk.available(), reason="_walk is not built")
ROWS = 600
# In a child process (a crash there fails the test, not pytest): open the store, search, then
# damage the mapped graph file in place (as a disk or another program may) and search again.
CHILD = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    import numpy as np
    from answerdb.errors import StoreError
    from answerdb.store.embedded.store import EmbeddedStore
    path, at, count, value = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    store = EmbeddedStore(path, readonly=True, exact_limit=0)
    query = np.full(48, 48 ** -0.5, dtype=np.float32)
    store.vector_search(query, 5)
    with open(path / "index-g0.faiss", "r+b") as fh:
        fh.seek(at)
        fh.write(np.full(count, value, dtype=sys.argv[5]).tobytes())
    try:
        store.vector_search(query, 5)
    except StoreError as exc:
        print("StoreError:", exc)
        sys.exit(3)
    print("searched")
    """
)


def _store(path: Path) -> Path:
    from answerdb.store.embedded.store import EmbeddedStore
    from answerdb.types import Document, Passage

    store = EmbeddedStore(path, exact_limit=0)
    store.set_model("test", "1", DIM)
    docs = [(Document(f"d{i}", f"text {i}", source="s"), f"h{i}") for i in range(ROWS)]
    passages = [Passage(f"d{i}", 0, f"text {i}") for i in range(ROWS)]
    store.add(docs, passages, clustered(ROWS))
    store.close()
    assert (path / "index-g0.faiss").exists()
    return path


def _where_in_file(file: Path, part: str) -> tuple[int, int]:
    """Where the graph's ``part`` array lies in its file, and its length."""
    index = faiss.read_index(str(file))  # kept alive while its arrays are read
    vector = getattr(index.hnsw, part)
    data = faiss.rev_swig_ptr(vector.data(), vector.size()).tobytes()
    at = file.read_bytes().find(data)
    assert at > 0
    return at, int(vector.size())


def _run(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    src = Path(__file__).resolve().parents[3] / "src"
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(src)},
        timeout=120,
    )


def test_a_graph_damaged_under_a_reader_is_a_store_error_not_a_crash(tmp_path: Path) -> None:
    path = _store(tmp_path / "kb")
    # The links are the part faiss maps from the file (the rest is copied and checked on read).
    at, count = _where_in_file(path / "index-g0.faiss", "neighbors")
    run = _run(CHILD, str(path), str(at), str(count), str(10**9), "int32")
    assert run.returncode == 3, (run.stdout, run.stderr[-2000:])
    assert "index-g0.faiss" in run.stdout and "answerdb repair" in run.stdout


def test_a_graph_file_damaged_before_opening_is_rebuilt(tmp_path: Path) -> None:
    from answerdb.store.embedded.check import check_store
    from answerdb.store.embedded.store import EmbeddedStore

    path = _store(tmp_path / "kb")
    file = path / "index-g0.faiss"
    at, count = _where_in_file(file, "neighbors")
    with open(file, "r+b") as fh:
        fh.seek(at)
        fh.write(np.full(count, 10**9, dtype=np.int32).tobytes())
    store = EmbeddedStore(path, readonly=True, exact_limit=0)
    assert store.vector_ids(clustered(ROWS)[5], 1)[0][0] == "d5"  # faiss refused it: rebuilt
    report = check_store(store)
    assert any(f.part == "index" and f.repairable for f in report.findings if f.level != "ok")
    store.close()


def test_every_link_of_a_node_is_walked_however_many(tmp_path: Path) -> None:
    vectors = clustered(1000)
    file = VectorFile(tmp_path / "vectors.int8", DIM, "int8", scale=200.0)
    file.append(vectors, at_row=0)
    index = AnnIndex(file, IndexSettings(m=300, ef_construction=40))
    index.catch_up(len(vectors))
    hnsw = index.index.hnsw
    links = faiss.rev_swig_ptr(hnsw.neighbors.data(), hnsw.neighbors.size())
    offsets = faiss.rev_swig_ptr(hnsw.offsets.data(), hnsw.offsets.size())
    degree = hnsw.nb_neighbors(0)
    assert degree == 600  # more than the 512 slots the walk once had
    # A star: the entry point links to every row, the target in slot 550; nothing else links.
    entry, target = int(hnsw.entry_point), 999 if hnsw.entry_point != 999 else 998
    others = [row for row in range(1000) if row not in (entry, target)][: degree - 1]
    links[:] = -1
    start = int(offsets[entry])
    links[start : start + degree] = [*others[:550], target, *others[550:]]
    found = index.search(vectors[target], 1, None, ef=1)
    assert index._walker is not None and found.tolist() == [target]


def test_vectors_too_wide_for_32_bit_distances_search_through_faiss(tmp_path: Path) -> None:
    dim = walk.MAX_DIM + 16
    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(40, dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    file = VectorFile(tmp_path / "vectors.int8", dim, "int8", scale=2000.0)
    file.append(vectors, at_row=0)
    index = AnnIndex(file)
    index.catch_up(len(vectors))
    assert index.search(vectors[7], 1, None)[0] == 7
    assert index._walk() is None
