"""The catalog's tables, and the changes older catalogs take when opened for writing (a
column, and indexes ``CREATE ... IF NOT EXISTS`` adds).

A passage carries its document's metadata beside the document's own copy: a search reads
its hits from ``passages`` alone (one rowid lookup each) instead of joining ``documents`` by
text id, which at a million rows cost as much as the graph walk. Catalogs made before hold
NULL there for their older passages, read through the document (``HIT_METADATA``). The index
on ``documents(source)`` finds a document's neighbours in its source (Keep Reading).
"""

from __future__ import annotations

import sqlite3

from answerdb.store.embedded.fts import TOKENIZER

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents(
    doc_id TEXT PRIMARY KEY, source TEXT NOT NULL, title TEXT NOT NULL, question TEXT NOT NULL,
    metadata TEXT NOT NULL, text TEXT NOT NULL, content_hash TEXT NOT NULL, added_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS documents_hash ON documents(content_hash);
CREATE INDEX IF NOT EXISTS documents_source ON documents(source);
CREATE TABLE IF NOT EXISTS passages(
    row INTEGER PRIMARY KEY, doc_id TEXT NOT NULL, ordinal INTEGER NOT NULL,
    heading TEXT NOT NULL, text TEXT NOT NULL, metadata TEXT);
CREATE INDEX IF NOT EXISTS passages_doc ON passages(doc_id, ordinal);
CREATE VIRTUAL TABLE IF NOT EXISTS passages_fts USING fts5(
    heading, text, content='passages', content_rowid='row', tokenize='{TOKENIZER}');
CREATE TABLE IF NOT EXISTS vector_sums(
    start INTEGER PRIMARY KEY, count INTEGER NOT NULL, crc32 INTEGER NOT NULL);
"""
# A hit's metadata: its passage's copy, else (older passages) its document's.
HIT_METADATA = (
    "coalesce(p.metadata, (SELECT d.metadata FROM documents d WHERE d.doc_id = p.doc_id))"
)
# A catalog too old to have the column, opened read-only: the document's, by a join.
JOINED_METADATA = "(SELECT d.metadata FROM documents d WHERE d.doc_id = p.doc_id)"


def create_or_upgrade(db: sqlite3.Connection) -> None:
    """The tables, and the passages' metadata column on a catalog made without it (an
    ALTER that rewrites nothing: existing rows read NULL)."""
    db.executescript(SCHEMA)
    if passages_hold_metadata(db):
        return
    try:
        db.execute("ALTER TABLE passages ADD COLUMN metadata TEXT")
    except sqlite3.OperationalError:
        if not passages_hold_metadata(db):  # else another writer added it just now
            raise


def passages_hold_metadata(db: sqlite3.Connection) -> bool:
    return any(r[1] == "metadata" for r in db.execute("PRAGMA table_info(passages)"))
