"""The catalog: documents, passages and settings in SQLite (WAL), with FTS5 for BM25.

The source of truth (invariant 1). A passage's ``row`` is also its slot in the vector file;
``meta.rows`` is the committed vector count, written in the same transaction as the passages.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

from answerdb.errors import StoreError
from answerdb.store.embedded import listing
from answerdb.store.embedded.schema import (
    HIT_METADATA,
    JOINED_METADATA,
    create_or_upgrade,
    passages_hold_metadata,
)
from answerdb.types import Document, Hit, Passage

# BM25 column weights: a match in the question or title counts more than one in the body.
HEADING_WEIGHT = 2.0
BODY_WEIGHT = 1.0


class Catalog:
    """One SQLite connection to ``catalog.sqlite``; writes go through ``transaction()``."""

    def __init__(self, path: Path, readonly: bool = False) -> None:
        self.path = path
        self.readonly = readonly
        # One connection may serve several threads; a snapshot or a write holds it whole (and
        # whatever changes the graph that searches read inside one).
        self.guard = threading.RLock()
        self.db = self._connect()

    def _connect(self) -> sqlite3.Connection:
        try:
            if self.readonly:
                db = self._connect_readonly()
            else:
                db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=FULL")
                create_or_upgrade(db)
            db.execute("PRAGMA busy_timeout=10000")
            # 64 MiB of pages: bulk imports insert ids and hashes all over their indexes.
            db.execute("PRAGMA cache_size=-65536")
            # Each hit's metadata: from its passage (see schema.py), or older catalogs' join.
            held = passages_hold_metadata(db)
            self._hit_metadata = HIT_METADATA if held else JOINED_METADATA
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: cannot open the catalog: {exc}") from exc
        return db

    def _connect_readonly(self) -> sqlite3.Connection:
        """mode=ro; on a read-only folder without a WAL file, ``immutable`` (nothing to miss)."""
        uri = f"file:{self.path}?mode=ro"
        db = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
        try:
            db.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.OperationalError:
            db.close()
            # WAL readers need to create -shm; a checkpointed catalog has no WAL to read.
            if Path(f"{self.path}-wal").exists():
                raise
            uri = f"file:{self.path}?mode=ro&immutable=1"
            db = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
            db.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return db

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE … COMMIT; any error rolls the whole batch back (invariant 2).

        Raises StoreError when SQLite cannot write (locked, disk full, read-only).
        """
        with self.guard:
            try:
                self.db.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                raise StoreError(f"{self.path}: cannot write: {exc}") from exc
            try:
                yield self.db
                self.db.execute("COMMIT")
            except BaseException as exc:
                # SQLite may already have rolled back (disk full); a second ROLLBACK would fail.
                if self.db.in_transaction:
                    self.db.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise StoreError(f"{self.path}: cannot write: {exc}") from exc
                raise

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Reads inside see one committed state (invariant 3); nested use joins the outer one."""
        with self.guard:
            if self.db.in_transaction:
                yield
                return
            self.db.execute("BEGIN")
            try:
                yield
            finally:
                if self.db.in_transaction:
                    self.db.execute("COMMIT")

    # -- settings -------------------------------------------------------------------------
    def meta(self, key: str, default: str | None = None) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return str(row[0]) if row else default

    def set_meta(self, key: str, value: object) -> None:
        """Set inside the caller's transaction."""
        self.db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES(?, ?)", (key, str(value)))

    def model(self) -> dict[str, str]:
        """The recorded embedding model: name, revision and dimension (those set)."""
        found = {key: self.meta(key) for key in ("model", "revision", "dim")}
        return {key: value for key, value in found.items() if value is not None}

    def set_model(self, name: str, revision: str, dim: int) -> None:
        with self.transaction():
            self.set_meta("model", name)
            self.set_meta("revision", revision)
            self.set_meta("dim", dim)

    def graph_waits(self) -> bool:
        """Whether rows past the saved graph wait for `reindex` (searched exactly meanwhile)."""
        return self.meta("graph_waits") == "1"

    def set_graph_waits(self, waits: bool) -> None:
        """Under the writer lock; a change is a new version, so readers see it."""
        if self.graph_waits() != waits:
            with self.transaction():
                self.set_meta("graph_waits", int(waits))
                self.bump_version()

    def committed_rows(self) -> int:
        return int(self.meta("rows", "0") or 0)

    def record_graph_crc(self, crc: int) -> None:
        """Keep a newly saved graph file's CRC-32 beside the previous save's: a crash between
        the save and the rename leaves either file, and `check` accepts both."""
        kept = (self.meta("graph_crcs") or "").split()[-1:]
        with self.transaction():
            self.set_meta("graph_crcs", " ".join([*kept, str(crc)]))

    def graph_crcs(self) -> set[int]:
        """The CRC-32s a saved graph of this store may have (the last two saves)."""
        return {int(c) for c in (self.meta("graph_crcs") or "").split()}

    def version(self) -> int:
        """Bumped by every committed write, so readers know when to refresh what they cache."""
        return int(self.meta("version", "0") or 0)

    def bump_version(self) -> None:
        self.set_meta("version", self.version() + 1)

    def record_sums(self, sums: list[tuple[int, int, int]]) -> None:
        """Remember vector checksums, (start, rows, CRC-32) each (inside the caller's
        transaction); a block starting where another did replaces it."""
        self.db.executemany("INSERT OR REPLACE INTO vector_sums VALUES(?, ?, ?)", sums)

    def forget_vectors(self) -> None:
        """Drop every vector checksum (compaction writes a new file)."""
        self.db.execute("DELETE FROM vector_sums")

    def vector_sums(self) -> list[tuple[int, int, int]]:
        """(start row, rows, CRC-32) of each committed batch; [] for a store made before them."""
        try:
            rows = self.db.execute("SELECT start, count, crc32 FROM vector_sums ORDER BY start")
            return [(int(r[0]), int(r[1]), int(r[2])) for r in rows]
        except sqlite3.OperationalError:  # a read-only catalog older than the table
            return []

    # -- writes (inside a transaction) ----------------------------------------------------
    def insert_document(self, doc: Document, content_hash: str) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO documents VALUES(?, ?, ?, ?, ?, ?, ?, ?)",
            (
                doc.doc_id,
                doc.source,
                doc.title,
                doc.question,
                _dump(doc.metadata),
                doc.text,
                content_hash,
                time.time(),
            ),
        )

    def insert_documents(self, docs: list[tuple[Document, str]]) -> None:
        """Insert or replace many documents in one statement (bulk imports)."""
        now = time.time()
        self.db.executemany(
            "INSERT OR REPLACE INTO documents VALUES(?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (d.doc_id, d.source, d.title, d.question, _dump(d.metadata), d.text, h, now)
                for d, h in docs
            ],
        )

    def insert_passages(self, passages: list[Passage], docs: dict[str, Document]) -> None:
        """``docs``: each passage's document, whose heading and metadata it carries."""
        metadata = {doc_id: _dump(doc.metadata) for doc_id, doc in docs.items()}
        rows = [
            (p.row, p.doc_id, p.ordinal, docs[p.doc_id].heading, p.text, metadata[p.doc_id])
            for p in passages
        ]
        self.db.executemany("INSERT INTO passages VALUES(?, ?, ?, ?, ?, ?)", rows)
        self.db.executemany(
            "INSERT INTO passages_fts(rowid, heading, text) VALUES(?, ?, ?)",
            [(r[0], r[3], r[4]) for r in rows],
        )

    def delete_documents(self, doc_ids: list[str]) -> list[int]:
        """Remove documents, their passages and their keyword entries; returns freed rows."""
        freed: list[int] = []
        for doc_id in doc_ids:
            rows = self.db.execute(
                "SELECT row, heading, text FROM passages WHERE doc_id = ?", (doc_id,)
            ).fetchall()
            self.db.executemany(
                "INSERT INTO passages_fts(passages_fts, rowid, heading, text)"
                " VALUES('delete', ?, ?, ?)",
                rows,
            )
            self.db.execute("DELETE FROM passages WHERE doc_id = ?", (doc_id,))
            self.db.execute("DELETE FROM documents WHERE doc_id = ?", (doc_id,))
            freed.extend(int(r[0]) for r in rows)
        return freed

    # -- reads ----------------------------------------------------------------------------
    def has_hash(self, content_hash: str) -> bool:
        sql = "SELECT 1 FROM documents WHERE content_hash = ? LIMIT 1"
        return self.db.execute(sql, (content_hash,)).fetchone() is not None

    def existing_ids(self, doc_ids: list[str]) -> set[str]:
        return self._present("doc_id", doc_ids)

    def stored_hashes(self, hashes: list[str]) -> set[str]:
        return self._present("content_hash", hashes)

    def _present(self, column: str, values: list[str]) -> set[str]:
        """Which of ``values`` some document holds in ``column`` (an indexed one)."""
        found: set[str] = set()
        for start in range(0, len(values), 500):
            chunk = values[start : start + 500]
            marks = ",".join("?" * len(chunk))
            sql = f"SELECT {column} FROM documents WHERE {column} IN ({marks})"
            found.update(r[0] for r in self.db.execute(sql, chunk))
        return found

    def live_rows(
        self, where_sql: str = "1", params: list[Any] | None = None
    ) -> npt.NDArray[np.int64]:
        sql = (
            "SELECT p.row FROM passages p JOIN documents d ON d.doc_id = p.doc_id"
            f" WHERE {where_sql}"
        )
        return np.fromiter((r[0] for r in self.db.execute(sql, params or [])), dtype=np.int64)

    def keyword_search(
        self, expression: str, k: int, where_sql: str, params: list[Any]
    ) -> list[tuple[int, float]]:
        score = f"bm25(passages_fts, {HEADING_WEIGHT}, {BODY_WEIGHT})"
        if where_sql == "1":  # no filter: FTS5 ranks on its own, without joins
            sql = f"SELECT rowid, {score} AS s FROM passages_fts WHERE passages_fts MATCH ?"
        else:
            sql = (
                f"SELECT f.rowid, {score} AS s"
                " FROM passages_fts f JOIN passages p ON p.row = f.rowid"
                " JOIN documents d ON d.doc_id = p.doc_id"
                f" WHERE passages_fts MATCH ? AND {where_sql}"
            )
        rows = self.db.execute(sql + " ORDER BY s LIMIT ?", [expression, *params, k]).fetchall()
        return [(int(r[0]), -float(r[1])) for r in rows]

    def hits(self, scored: list[tuple[int, float]]) -> list[Hit]:
        """Hits for (row, score) pairs, in the same order; rows deleted meanwhile are dropped."""
        if not scored:
            return []
        marks = ",".join("?" * len(scored))
        sql = (
            f"SELECT p.row, p.doc_id, p.text, p.heading, {self._hit_metadata}, p.ordinal"
            f" FROM passages p WHERE p.row IN ({marks})"
        )
        # A passage whose document is gone (a damaged catalog: `check` says so) is dropped.
        rows = self.db.execute(sql, [row for row, _ in scored])
        found = {r[0]: r for r in rows if r[4] is not None}
        return [
            Hit(
                row=row,
                doc_id=found[row][1],
                text=found[row][2],
                score=score,
                heading=found[row][3],
                metadata=orjson.loads(found[row][4]),
                ordinal=found[row][5],
            )
            for row, score in scored
            if row in found
        ]

    def doc_ids(self, scored: list[tuple[int, float]]) -> list[tuple[str, float]]:
        """(document id, score) for (row, score) pairs, in order; deleted rows are dropped."""
        if not scored:
            return []
        marks = ",".join("?" * len(scored))
        sql = f"SELECT row, doc_id FROM passages WHERE row IN ({marks})"
        found = dict(self.db.execute(sql, [row for row, _ in scored]).fetchall())
        return [(found[row], score) for row, score in scored if row in found]

    def document(self, doc_id: str) -> Document | None:
        row = self.db.execute(
            "SELECT doc_id, text, source, title, question, metadata FROM documents"
            " WHERE doc_id = ?",
            (doc_id,),
        ).fetchone()
        if row is None:
            return None
        return Document(
            doc_id=row[0],
            text=row[1],
            source=row[2],
            title=row[3],
            question=row[4],
            metadata=orjson.loads(row[5]),
        )

    def documents(self) -> list[Document]:
        """Every document, without its text (for listings and series)."""
        return listing.documents(self.db)

    def neighbours(self, doc_id: str, width: int) -> list[tuple[int, Document]]:
        return listing.neighbours(self.db, doc_id, width)

    def passages_of(self, doc_id: str) -> list[Passage]:
        sql = "SELECT row, ordinal, text FROM passages WHERE doc_id = ? ORDER BY ordinal"
        return [Passage(doc_id, r[1], r[2], r[0]) for r in self.db.execute(sql, (doc_id,))]

    def rows_of(self, doc_id: str) -> npt.NDArray[np.int64]:
        sql = "SELECT row FROM passages WHERE doc_id = ? ORDER BY ordinal"
        return np.fromiter((r[0] for r in self.db.execute(sql, (doc_id,))), dtype=np.int64)

    def passage_count(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM passages").fetchone()[0])

    def counts(self) -> dict[str, int]:
        docs = self.db.execute("SELECT count(*) FROM documents").fetchone()[0]
        passages = self.db.execute("SELECT count(*) FROM passages").fetchone()[0]
        return {"documents": int(docs), "passages": int(passages)}

    def renumber(self, mapping: dict[int, int]) -> None:
        """Give passages their new rows after compaction (inside the caller's transaction)."""
        self.db.execute("UPDATE passages SET row = -row - 1")
        self.db.executemany(
            "UPDATE passages SET row = ? WHERE row = ?",
            [(new, -old - 1) for old, new in mapping.items()],
        )
        self.db.execute("INSERT INTO passages_fts(passages_fts) VALUES('rebuild')")

    def switch_generation(
        self, generation: int, live: npt.NDArray[np.int64], sums: list[tuple[int, int, int]]
    ) -> None:
        """Commit a compaction: the ``live`` rows, in order, are rows 0.. of the new vector file
        (offset int8 layout; checksums ``sums``) of ``generation``."""
        with self.transaction():
            self.set_meta("int8_codes", "offset")  # older stores change layout here
            self.renumber({int(old): new for new, old in enumerate(live)})
            self.forget_vectors()
            self.record_sums(sums)
            self.set_meta("generation", generation)
            self.set_meta("rows", len(live))
            self.bump_version()

    def close(self) -> None:
        self.db.close()


def _dump(metadata: dict[str, Any]) -> str:
    """Metadata as JSON text (orjson: bulk imports write millions of these)."""
    return orjson.dumps(metadata, option=orjson.OPT_NON_STR_KEYS).decode()
