"""`answerdb check` finds each kind of damage; `answerdb repair` fixes the derived parts."""

from __future__ import annotations

import json
import shutil
from contextlib import closing
from pathlib import Path

import pytest
from stress.workload import WordHashEmbedder, document

from answerdb.cli.main import main
from answerdb.errors import StoreError
from answerdb.store.embedded.store import EmbeddedStore
from answerdb.types import CheckReport, Document, Passage

from .helpers import make_kb, open_kb


def _check(path: Path) -> CheckReport:
    with open_kb(path) as db:
        return db.check()


def _levels(report: CheckReport, part: str) -> set[str]:
    return {f.level for f in report.findings if f.part == part}


def _repair(path: Path) -> CheckReport:
    with open_kb(path) as db:
        _, report = db.repair()
    return report


def test_a_fresh_store_checks_ok(tmp_path: Path) -> None:
    report = _check(make_kb(tmp_path / "kb"))
    assert report.ok
    assert report.counts["documents"] == 12
    assert report.counts["checksummed_rows"] == 12
    assert _levels(report, "index") == {"ok"}


def test_a_crash_tail_is_a_warning_that_repair_trims(tmp_path: Path) -> None:
    path = make_kb(tmp_path / "kb")
    vectors = path / "vectors-g0.int8"
    size = vectors.stat().st_size
    with open(vectors, "ab") as fh:
        fh.write(b"\x01" * 96 * 3)
    report = _check(path)
    assert report.ok and "warn" in _levels(report, "vectors")
    assert _repair(path).ok
    assert vectors.stat().st_size == size


def test_flipped_vector_bytes_fail_the_checksum(tmp_path: Path) -> None:
    path = make_kb(tmp_path / "kb")
    with open(path / "vectors-g0.int8", "r+b") as fh:
        fh.seek(96 * 5 + 7)
        fh.write(b"\x7f")
    report = _check(path)
    assert not report.ok
    assert any("checksum" in f.message for f in report.findings)


def test_missing_vectors_are_an_error_and_search_says_so(tmp_path: Path) -> None:
    path = make_kb(tmp_path / "kb")
    with open(path / "vectors-g0.int8", "r+b") as fh:
        fh.truncate(96 * 4)
    assert not _check(path).ok
    (path / "index-g0.faiss").unlink()
    with open_kb(path) as db, pytest.raises(StoreError, match="holds 4 vectors"):
        db.search("alpha", mode="dense")


def test_a_lost_or_foreign_index_is_rebuilt_by_repair(tmp_path: Path) -> None:
    path = make_kb(tmp_path / "kb")
    other = tmp_path / "other"
    with open_kb(other) as db:
        db.add([document(f"o{i}", f"This is toko{i}. Other words {i}.") for i in range(12)])
    shutil.copy(other / "index-g0.faiss", path / "index-g0.faiss")
    report = _check(path)
    assert not report.ok and "error" in _levels(report, "index")
    assert _repair(path).ok
    (path / "index-g0.faiss").unlink()
    assert "warn" in _levels(_check(path), "index")
    assert _levels(_repair(path), "index") == {"ok"}


def test_a_damaged_keyword_index_is_rebuilt_by_repair(tmp_path: Path) -> None:
    path = make_kb(tmp_path / "kb")
    store = EmbeddedStore(path)
    with closing(store), store.catalog.transaction() as sql:
        sql.execute("DELETE FROM passages_fts_data WHERE id > 10")
    assert not _check(path).ok
    assert _repair(path).ok
    with open_kb(path) as db:
        assert len(db.search("alpha", k=20, mode="keyword")) == 12


def test_leftover_files_are_removed_by_repair(tmp_path: Path) -> None:
    path = make_kb(tmp_path / "kb")
    (path / "index-g0.tmp").write_bytes(b"half")
    (path / "vectors-g3.int8").write_bytes(b"old")
    assert "warn" in _levels(_check(path), "files")
    assert _levels(_repair(path), "files") == {"ok"}
    assert not (path / "index-g0.tmp").exists()


def test_check_and_repair_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = make_kb(tmp_path / "kb")
    assert main(["check", str(path)]) == 0
    assert "check: ok" in capsys.readouterr().out
    assert main(["check", str(path), "--json", "--read-only"]) == 0
    assert json.loads(capsys.readouterr().out)["ok"] is True
    (path / "index-g0.faiss").unlink()
    assert main(["repair", str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["check"]["ok"] and any("rebuilt" in line for line in out["done"])
    with open(path / "vectors-g0.int8", "r+b") as fh:
        fh.truncate(96)
    assert main(["check", str(path)]) == 1
    assert "error" in capsys.readouterr().out
    assert main(["check", str(tmp_path / "nothing")]) == 2


def docs_text(docs: list[Document]) -> list[str]:
    return [doc.text for doc in docs]


def _damage_row(path: Path, row: int) -> None:
    with open(path / "vectors-g0.int8", "r+b") as fh:
        fh.seek(96 * row + 7)
        fh.write(b"\x7f" if fh.read(1) != b"\x7f" else b"\x01")


def test_compact_refuses_to_copy_damaged_vectors_under_fresh_checksums(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = make_kb(tmp_path / "kb")
    _damage_row(path, 5)
    assert main(["delete", str(path), "d0"]) == 0
    assert main(["compact", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "answerdb repair" in err and "d5" in err
    report = _check(path)
    assert not report.ok and any("checksum" in f.message for f in report.findings)


def test_compact_copies_no_damage_it_drops(tmp_path: Path) -> None:
    path = make_kb(tmp_path / "kb")
    with open_kb(path) as db:  # a second batch, damaged, then deleted whole
        db.add([document(f"e{i}", f"This is toke{i}. Later words {i}.") for i in range(3)])
    _damage_row(path, 13)
    with open_kb(path) as db:
        db.delete(["e0", "e1", "e2"])
        assert db.compact()["rows_after"] == 12
    assert _check(path).ok


def test_checksums_cover_blocks_of_rows_so_damage_is_placed(tmp_path: Path) -> None:
    path = tmp_path / "kb"
    docs = [document(f"d{i}", f"This is tokd{i}. Words {i}.") for i in range(2500)]
    passages = [Passage(doc.doc_id, 0, doc.text) for doc in docs]
    embedder = WordHashEmbedder()
    with closing(EmbeddedStore(path)) as store:  # one batch of 2,500 rows
        store.set_model(embedder.name, embedder.revision, embedder.dim)
        store.add([(doc, doc.doc_id) for doc in docs], passages, embedder.embed(docs_text(docs)))
    _damage_row(path, 2100)
    report = _check(path)
    assert not report.ok and report.counts["checksummed_rows"] == 2500
    (bad,) = [f.message for f in report.findings if f.level == "error"]
    assert "rows 2048-2499 (documents d2048, d2049" in bad and "and 447 more" in bad


def test_compact_gives_the_catalogs_space_back(tmp_path: Path) -> None:
    path = tmp_path / "kb"
    words = " ".join(f"word{i}" for i in range(150))
    with open_kb(path) as db:
        db.add([document(f"d{i}", f"This is tokd{i}. {words}.") for i in range(400)])
    full = (path / "catalog.sqlite").stat().st_size
    with open_kb(path) as db:
        db.delete([f"d{i}" for i in range(380)])
        result = db.compact()
    assert result["catalog_bytes_freed"] > full // 2
    assert (path / "catalog.sqlite").stat().st_size < full // 3
    assert _check(path).ok


@pytest.mark.parametrize(
    ("damage", "doc", "finding"),
    [
        ("UPDATE passages SET row = 10000 WHERE doc_id = 'd3'", "d3", "passages past meta.rows"),
        ("DELETE FROM passages WHERE doc_id = 'd5'", "d5", "documents without passages"),
        ("UPDATE passages SET ordinal = 4 WHERE doc_id = 'd6'", "d6", "missing or repeated"),
        ("DELETE FROM documents WHERE doc_id = 'd7'", "d7", "passages without their document"),
        (
            """UPDATE passages SET metadata = '{"stale": 1}' WHERE doc_id = 'd4'""",
            "d4",
            "metadata differs",
        ),
    ],
)
def test_catalog_errors_name_their_documents_and_say_what_to_do(
    tmp_path: Path, damage: str, doc: str, finding: str
) -> None:
    path = make_kb(tmp_path / "kb")
    store = EmbeddedStore(path)
    with closing(store), store.catalog.transaction() as sql:
        sql.execute(damage)
    report = _check(path)
    (found,) = [f for f in report.findings if finding in f.message]
    assert found.level == "error" and doc in found.message
    for error in (f for f in report.findings if f.level == "error"):
        assert error.repairable or f"answerdb delete {path} " in error.message, error


def test_a_passage_s_stale_copy_of_its_metadata_is_repaired(tmp_path: Path) -> None:
    path = make_kb(tmp_path / "kb")
    store = EmbeddedStore(path)
    with closing(store), store.catalog.transaction() as sql:
        wanted = sql.execute("SELECT metadata FROM documents WHERE doc_id = 'd4'").fetchone()[0]
        sql.execute("""UPDATE passages SET metadata = '{"stale": 1}' WHERE doc_id = 'd4'""")
    assert not _check(path).ok
    assert _repair(path).ok
    with open_kb(path) as db:
        hits = [h for h in db.search("alpha", k=20, mode="keyword") if h.doc_id == "d4"]
    assert hits and all(json.loads(wanted) == h.metadata for h in hits)


def test_passages_without_their_document_are_removed_by_repair(tmp_path: Path) -> None:
    path = make_kb(tmp_path / "kb")
    store = EmbeddedStore(path)
    with closing(store), store.catalog.transaction() as sql:
        sql.execute("DELETE FROM documents WHERE doc_id = 'd7'")
    assert _repair(path).ok
    with open_kb(path) as db:
        assert len(db.search("alpha", k=20, mode="keyword")) == 11
