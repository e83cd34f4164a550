"""Vectors are derived data (invariant 1): `repair` embeds missing or damaged rows again from
the catalog's passage text with the recorded model, and says so."""

from __future__ import annotations

from contextlib import closing
from pathlib import Path

import pytest
from stress.workload import document

from answerdb.errors import StoreError
from answerdb.store.embedded.store import EmbeddedStore
from answerdb.types import Document

from .helpers import make_kb, open_kb

ROW = 96  # bytes of one int8 row of the word-hash model


def _repair(path: Path) -> list[str]:
    with open_kb(path) as db:
        done, report = db.repair()
    assert report.ok, report.findings
    return done


def test_a_vector_file_short_by_a_row_is_embedded_again(tmp_path: Path) -> None:
    path = make_kb(tmp_path / "kb")
    vectors = path / "vectors-g0.int8"
    original = vectors.read_bytes()
    with open(vectors, "r+b") as fh:
        fh.truncate(ROW * 11)
    (path / "index-g0.faiss").unlink()
    with open_kb(path) as db, pytest.raises(StoreError, match="answerdb repair"):
        db.search("alpha", mode="dense")
    done = _repair(path)
    # The row lost cut its checksum block (the batch's 12 rows): the block is made again whole.
    said = "embedded 12 passages of documents d0, d1, d2, d3, d4 and 7 more again with stress-hash"
    assert f"{said} (rows 0-11 of vectors-g0.int8)" in done
    assert vectors.read_bytes() == original
    with open_kb(path) as db:
        assert db.search("tokd11 topic11", mode="dense")[0].doc_id == "d11"


def test_damaged_rows_are_embedded_again(tmp_path: Path) -> None:
    path = make_kb(tmp_path / "kb")
    vectors = path / "vectors-g0.int8"
    original = vectors.read_bytes()
    with open(vectors, "r+b") as fh:
        fh.seek(ROW * 5 + 3)
        fh.write(b"\x00\x00\x00\x00")
    done = _repair(path)
    assert any("embedded 12 passages of documents d0, d1" in line for line in done)
    assert vectors.read_bytes() == original


def test_a_deleted_vector_file_is_missing_not_compacted_and_repair_remakes_it(
    tmp_path: Path,
) -> None:
    path = make_kb(tmp_path / "kb")
    vectors = path / "vectors-g0.int8"
    original = vectors.read_bytes()
    vectors.unlink()
    with open_kb(path) as db:
        with pytest.raises(StoreError) as raised:
            db.search("alpha", mode="dense")
        assert "compacted" not in str(raised.value) and "answerdb repair" in str(raised.value)
        report = db.check()
    assert not report.ok
    assert any("vectors-g0.int8 is missing" in f.message and f.repairable for f in report.findings)
    _repair(path)
    assert vectors.read_bytes() == original


def test_passages_under_an_opening_sentence_are_embedded_as_ingest_embedded_them(
    tmp_path: Path,
) -> None:
    """A document with no title or question embeds its later passages under its opening
    sentence (ingest/pipeline.py passage_texts): repair must make the same vectors."""
    path = tmp_path / "kb"
    words = " ".join(f"word{i % 97}" for i in range(700))
    with open_kb(path) as db:
        db.add([Document("long", f"The opening says tokopen. {words}.", source="long.txt")])
        assert len(db._store.passages("long")) > 2
    vectors = path / "vectors-g0.int8"
    original = vectors.read_bytes()
    vectors.write_bytes(b"\x01" * len(original))
    _repair(path)
    assert vectors.read_bytes() == original


def test_without_a_model_repair_leaves_vectors_reported_and_says_why(tmp_path: Path) -> None:
    path = make_kb(tmp_path / "kb")
    with open(path / "vectors-g0.int8", "r+b") as fh:
        fh.truncate(ROW * 11)
    with closing(EmbeddedStore(path)) as store:
        done, report = store.repair()
    assert any("no model" in line and "rows 0-11" in line for line in done)
    assert not report.ok


def test_a_reembedded_store_takes_writes_and_compacts(tmp_path: Path) -> None:
    path = make_kb(tmp_path / "kb")
    with open(path / "vectors-g0.int8", "r+b") as fh:
        fh.truncate(ROW * 3)
    _repair(path)
    with open_kb(path) as db:
        db.add([document("new", "This is toknew speaking. Fresh words.")])
        db.delete(["d0"])
        assert db.compact()["rows_after"] == 12
        assert db.check().ok


def test_only_the_block_a_short_file_cuts_is_embedded_again(tmp_path: Path) -> None:
    path = make_kb(tmp_path / "kb")
    with open_kb(path) as db:
        db.add([document(f"e{i}", f"This is toke{i}. Later words {i}.") for i in range(3)])
    vectors = path / "vectors-g0.int8"
    original = vectors.read_bytes()
    with open(vectors, "r+b") as fh:
        fh.truncate(ROW * 14)
    done = _repair(path)
    assert any(line.startswith("embedded 3 passages of documents e0, e1, e2") for line in done)
    assert vectors.read_bytes() == original
