"""`answerdb check` finds each kind of damage; `answerdb repair` fixes the derived parts."""

from __future__ import annotations

import json
import shutil
from contextlib import closing
from pathlib import Path

import pytest
from stress.workload import document

from answerdb.cli.main import main
from answerdb.errors import StoreError
from answerdb.store.embedded.store import EmbeddedStore
from answerdb.types import CheckReport

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
