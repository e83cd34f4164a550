"""The saved graph holds links only; its codes are a view of the vector file's pages."""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np
import pytest

from answerdb.store.embedded.check import check_store
from answerdb.store.embedded.hnsw import file_crc
from answerdb.store.embedded.store import EmbeddedStore
from tests.store.embedded.test_index_settings import DIM, add, new_store, unit

ROWS = 400


@pytest.mark.parametrize("dtype", ["int8", "float16", "float32"])
def test_vectors_are_on_disk_once_and_answers_survive_reopening(tmp_path: Path, dtype: str) -> None:
    vectors = unit(ROWS, 5)
    store = new_store(tmp_path / "kb", dtype=dtype)
    add(store, 0, vectors)
    before = [store.vector_ids(v, 5) for v in vectors[:20]]
    store.close()
    item = np.dtype(dtype).itemsize
    assert (tmp_path / "kb" / f"vectors-g0.{dtype}").stat().st_size == ROWS * DIM * item
    # Links and levels only: a copy of the codes would add DIM * item bytes per row.
    assert (tmp_path / "kb" / "index-g0.faiss").stat().st_size < ROWS * (4 * 2 * 16 + 40)
    reopened = EmbeddedStore(tmp_path / "kb", readonly=True, exact_limit=0)
    assert reopened.ann.rows == ROWS and reopened.ann._pages is not None
    assert [reopened.vector_ids(v, 5) for v in vectors[:20]] == before
    assert check_store(reopened).ok


def test_int8_rows_are_stored_offset_and_score_exactly(tmp_path: Path) -> None:
    vectors = unit(ROWS, 6)
    store = new_store(tmp_path / "kb")
    add(store, 0, vectors)
    raw = np.fromfile(tmp_path / "kb" / "vectors-g0.int8", dtype=np.uint8).reshape(ROWS, DIM)
    signed = raw.astype(np.float32) - 128
    expected = signed @ vectors[3] / store.vectors.scale
    found = dict(store.vector_ids(vectors[3], ROWS))
    assert found["d3"] == pytest.approx(float(expected[3]), abs=1e-5)
    assert store.catalog.meta("int8_codes") == "offset"


def test_an_older_signed_store_is_read_then_rewritten_by_compact(tmp_path: Path) -> None:
    vectors = unit(ROWS, 7)
    path = tmp_path / "kb"
    store = new_store(path)
    add(store, 0, vectors)
    expected = [store.vector_ids(v, 3) for v in vectors[:10]]
    store.close()
    _make_signed(path)
    old = new_store(path)
    assert old.vectors.offset == 0 and not old.vectors.graph_viewable
    _same([old.vector_ids(v, 3) for v in vectors[:10]], expected)
    old.compact()
    assert old.vectors.offset == 128 and old.catalog.meta("int8_codes") == "offset"
    _same([old.vector_ids(v, 3) for v in vectors[:10]], expected)
    old.close()
    assert check_store(EmbeddedStore(path, readonly=True)).ok


def test_a_graph_reader_follows_rows_added_by_another_handle(tmp_path: Path) -> None:
    first, second = unit(ROWS, 8), unit(50, 9)
    path = tmp_path / "kb"
    writer = new_store(path)
    add(writer, 0, first)
    writer.close()
    reader = EmbeddedStore(path, readonly=True, exact_limit=0)
    assert reader.vector_ids(first[1], 1)[0][0] == "d1"  # answered from the mapped graph
    writer = new_store(path)
    add(writer, ROWS, second)
    assert reader.vector_ids(second[7], 1)[0][0] == f"d{ROWS + 7}"
    assert reader.ann.rows == ROWS + 50


def test_the_saved_graph_checksum_is_recorded(tmp_path: Path) -> None:
    store = new_store(tmp_path / "kb")
    add(store, 0, unit(ROWS, 10))
    store.close()
    reopened = EmbeddedStore(tmp_path / "kb")
    assert file_crc(tmp_path / "kb" / "index-g0.faiss") in reopened.catalog.graph_crcs()


def _same(found: list[list[tuple[str, float]]], expected: list[list[tuple[str, float]]]) -> None:
    assert [[i for i, _ in hits] for hits in found] == [[i for i, _ in e] for e in expected]
    scores = [s for hits in found for _, s in hits]
    assert scores == pytest.approx([s for e in expected for _, s in e], abs=1e-5)


def _make_signed(path: Path) -> None:
    """Turn a store into the layout older versions wrote: signed bytes, a graph with codes."""
    file = path / "vectors-g0.int8"
    signed = (np.fromfile(file, dtype=np.uint8) ^ 0x80).tobytes()
    file.write_bytes(signed)
    (path / "index-g0.faiss").unlink()
    store = EmbeddedStore(path)
    with store.catalog.transaction() as db:
        db.execute("DELETE FROM meta WHERE key IN ('int8_codes', 'graph_crcs')")
        # the checksums of the bytes it wrote
        db.execute("DELETE FROM vector_sums")
        db.execute("INSERT INTO vector_sums VALUES(0, ?, ?)", (ROWS, zlib.crc32(signed)))
    store.close()
