"""`answerdb check`: verify an embedded store — catalog vs vector file vs index.

Each finding names its part, a level (``ok``, ``warn``, ``error``) and whether
``answerdb repair`` fixes it. Errors mean wrong answers or failing reads; warnings are
leftovers a crash may leave (a vector tail, a stale index) that the store copes with.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from answerdb.store.embedded import sums
from answerdb.store.embedded.catalog_rules import catalog_problems, integrity_problems
from answerdb.store.embedded.hnsw import AnnIndex, file_crc, saved_rows
from answerdb.types import CheckReport

if TYPE_CHECKING:
    from answerdb.store.embedded.store import EmbeddedStore

# Rows of the index compared with the vector file (evenly spread): enough to catch a mix-up.
INDEX_SAMPLE = 256
# Why a small store has no graph, or an empty one.
EXACTLY = "searched exactly at this size (no graph needed)"
_GENERATION_FILE = re.compile(r"^(vectors|index)-g(\d+)\.\w+$")


def check_store(store: EmbeddedStore) -> CheckReport:
    """Verify ``store`` as it is committed now; reads only, safe beside a writer."""
    report = CheckReport(str(store.path))
    with store.catalog.snapshot():
        _check_catalog(store, report)
        _check_vectors(store, report)
        _check_index(store, report)
    _check_files(store, report)
    return report


def _check_catalog(store: EmbeddedStore, report: CheckReport) -> None:
    db = store.catalog.db
    damaged = integrity_problems(db)
    if damaged:
        report.add("catalog", "error", damaged)
    counts = store.catalog.counts()
    rows = store.catalog.committed_rows()
    report.counts.update(counts, vector_rows=rows)
    for message, repairable in catalog_problems(db, rows, str(store.path)):
        report.add("catalog", "error", message, repairable)
    if not any(f.part == "catalog" and f.level == "error" for f in report.findings):
        report.add(
            "catalog",
            "ok",
            f"{counts['documents']} documents, {counts['passages']} passages, {rows} vector rows",
        )
    _check_keyword_index(store, report)


def _check_keyword_index(store: EmbeddedStore, report: CheckReport) -> None:
    db = store.catalog.db
    how = ""
    try:
        if store.readonly or not _fts_integrity(db):
            _read_keyword_index(db)
            how = " (read entry by entry: the catalog is open read-only)"
    except sqlite3.DatabaseError as exc:
        report.add("catalog", "error", f"keyword index disagrees with passages: {exc}", True)
        return
    report.add("catalog", "ok", "keyword index matches the passages" + how)


def _fts_integrity(db: sqlite3.Connection) -> bool:
    """FTS5's own check of the index against the passages; False where the catalog cannot be
    written (the check is an INSERT): then it is no finding about the index."""
    try:
        db.execute("INSERT INTO passages_fts(passages_fts, rank) VALUES('integrity-check', 1)")
    except sqlite3.OperationalError as exc:
        if "readonly" in str(exc):
            return False
        raise
    return True


def _read_keyword_index(db: sqlite3.Connection) -> None:
    """Read every entry of the keyword index (a damaged page fails the read) and compare the
    rows it holds with the passages. Raises sqlite3.DatabaseError on a difference."""
    db.execute(
        "CREATE VIRTUAL TABLE IF NOT EXISTS temp.passages_vocab"
        " USING fts5vocab(main, passages_fts, 'instance')"
    )
    db.execute("SELECT count(*) FROM temp.passages_vocab").fetchone()
    for sql, what in _INDEXED_ROWS:
        count = int(db.execute(sql).fetchone()[0])
        if count:
            raise sqlite3.DatabaseError(f"{count} {what}")


# Rows the keyword index and the passages must share: (SQL counting a difference, its meaning).
_INDEXED_ROWS = [
    (
        "SELECT count(*) FROM passages p WHERE NOT EXISTS"
        " (SELECT 1 FROM passages_fts_docsize s WHERE s.id = p.row)",
        "passages missing from the index",
    ),
    (
        "SELECT count(*) FROM passages_fts_docsize s WHERE NOT EXISTS"
        " (SELECT 1 FROM passages p WHERE p.row = s.id)",
        "indexed rows without a passage",
    ),
]


def _check_vectors(store: EmbeddedStore, report: CheckReport) -> None:
    rows = store.catalog.committed_rows()
    stored = store.vectors.stored_rows()
    report.counts["vector_file_rows"] = stored
    if stored < rows:
        name = store.vectors.path.name
        held = f"holds {stored} rows" if store.vectors.path.exists() else "is missing"
        missing = [(stored, rows - stored, 0)]
        docs = sums.named(sums.documents_in(store.catalog.db, missing))
        lack = f"{sums.row_ranges(missing)} ({docs}) lack their vectors"
        report.add("vectors", "error", f"{name} {held}, the catalog commits {rows}: {lack}", True)
        return
    if stored > rows:
        report.add(
            "vectors",
            "warn",
            f"{stored - rows} uncommitted rows from a crash (invisible; trimmed by the next write)",
            True,
        )
    _check_sums(store, report, rows)


def _check_sums(store: EmbeddedStore, report: CheckReport, rows: int) -> None:
    recorded = [block for block in store.catalog.vector_sums() if block[1]]
    vectors = store.vectors
    bad = sums.damaged_blocks(vectors.path, vectors.row_bytes, recorded, rows)
    covered = sum(count for start, count, _ in recorded if start + count <= rows)
    report.counts["checksummed_rows"] = covered
    if bad:
        docs = sums.named(sums.documents_in(store.catalog.db, bad))
        report.add("vectors", "error", f"checksum mismatch: {sums.row_ranges(bad)} ({docs})", True)
        return
    unchecked = f"; {rows - covered} rows older than checksums" if covered < rows else ""
    report.add("vectors", "ok", f"{covered} rows match their checksums{unchecked}")


def _check_index(store: EmbeddedStore, report: CheckReport) -> None:
    path = store.index_path
    rows = store.catalog.committed_rows()
    wanted, waits = store.graph_rows(rows), store.catalog.graph_waits()
    if not path.exists() and (waits or not wanted):
        report.add("index", "ok", f"no {path.name}: {_behind(0, wanted, waits)}")
        return
    if not path.exists():
        report.add("index", "warn", f"{path.name} missing (built on first search)", True)
        return
    index = AnnIndex(store.vectors)
    if not index.load(path, rows):
        saved = saved_rows(path)
        ahead = saved is not None and saved > rows
        why = "is ahead of the catalog (ignored on open)" if ahead else "unreadable"
        report.add("index", "warn", f"{path.name} {why} (rebuilt on first search)", True)
        return
    report.counts["index_rows"] = index.rows
    if file_crc(path) not in store.catalog.graph_crcs():
        report.add("index", "error", f"{path.name} was not saved by this store", True)
        return
    mismatched = _index_mismatches(store, index, rows)
    if mismatched:
        report.add("index", "error", f"{mismatched} sampled rows differ from the vectors", True)
        return
    agree = f"{index.rows} rows agree with the vector file"
    report.add("index", "ok", "; ".join(filter(None, [agree, _behind(index.rows, wanted, waits)])))


def _behind(rows: int, wanted: int, waits: bool) -> str:
    """What the graph lacks, and when it gets it."""
    if rows < wanted and waits:
        return f"{wanted - rows} newer rows wait for `answerdb reindex` (searched exactly)"
    if rows < wanted:
        return f"{wanted - rows} newer rows are added on first search"
    return "" if wanted else EXACTLY


def _index_mismatches(store: EmbeddedStore, index: AnnIndex, rows: int) -> int:
    if index.rows == 0 or store.vectors.stored_rows() < rows:
        return 0
    sample = np.unique(np.linspace(0, index.rows - 1, min(INDEX_SAMPLE, index.rows)).astype(int))
    expected = store.vectors.graph_values(np.asarray(store.vectors.rows(rows)[sample]))
    found = np.stack([index.index.reconstruct(int(i)) for i in sample])
    return int((np.abs(found - expected).max(axis=1) > 1e-3).sum())


def _check_files(store: EmbeddedStore, report: CheckReport) -> None:
    leftovers = stale_files(store)
    if leftovers:
        names = ", ".join(p.name for p in leftovers)
        report.add("files", "warn", f"leftovers of an interrupted write: {names}", True)
    else:
        report.add("files", "ok", "no leftover files")


def stale_files(store: EmbeddedStore) -> list[Path]:
    """Files of other generations and unfinished temporary files."""
    current = store.generation
    found: list[Path] = []
    for item in sorted(store.path.iterdir()):
        match = _GENERATION_FILE.match(item.name)
        if item.suffix == ".tmp" or (match and int(match.group(2)) != current):
            found.append(item)
    return found
