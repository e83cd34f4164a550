"""`answerdb repair`: rebuild an embedded store's derived parts from the catalog.

The catalog is the truth (invariant 1). Repair trims a crash's uncommitted vector tail,
embeds missing or damaged vectors again from the passages (given the model's ``embed``),
rebuilds the keyword index from the passages and the graph from the vector file, and
removes leftovers of interrupted writes.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from answerdb.errors import StoreError
from answerdb.store.base import Reembed
from answerdb.store.embedded.check import check_store, stale_files
from answerdb.store.embedded.reembed import reembed
from answerdb.types import CheckReport

if TYPE_CHECKING:
    from answerdb.store.embedded.store import EmbeddedStore


def repair_store(
    store: EmbeddedStore, embed: Reembed | None = None
) -> tuple[list[str], CheckReport]:
    """Repair ``store`` under the writer lock; returns what was done and a fresh check.
    Without ``embed``, missing or damaged vectors are left (and reported).

    Raises LockedError while another process writes and StoreError when read-only.
    """
    done: list[str] = []
    with store.writer_lock():
        done += _trim_tail(store)
        done += reembed(store, embed)
        done += _rebuild_keywords(store)
        done += _remove_leftovers(store)
    if store.vectors.stored_rows() < store.catalog.committed_rows():
        done.append(f"left {store.index_path.name}: its vectors are missing")
        return done, check_store(store)
    # reindex takes the writer lock itself.
    store.reindex()
    graph = f"from {store.ann.rows} vectors" if store.ann.rows else "empty: searched exactly"
    done.append(f"rebuilt {store.index_path.name} {graph}")
    return done, check_store(store)


def _trim_tail(store: EmbeddedStore) -> list[str]:
    rows = store.catalog.committed_rows()
    stored = store.vectors.stored_rows()
    size = store.vectors.path.stat().st_size if store.vectors.path.exists() else 0
    if size <= rows * store.vectors.row_bytes:
        return []
    try:
        os.truncate(store.vectors.path, rows * store.vectors.row_bytes)
    except OSError as exc:
        raise StoreError(f"{store.vectors.path}: cannot trim: {exc.strerror}") from exc
    return [f"trimmed {stored - rows} uncommitted rows from {store.vectors.path.name}"]


def _rebuild_keywords(store: EmbeddedStore) -> list[str]:
    """The keyword index from the passages, less passages whose document is gone; each
    passage's copy of its document's metadata made equal to the document's."""
    with store.catalog.transaction() as db:
        orphans = db.execute(
            "DELETE FROM passages WHERE doc_id NOT IN (SELECT doc_id FROM documents)"
        ).rowcount
        copied = db.execute(
            "UPDATE passages SET metadata = (SELECT d.metadata FROM documents d"
            " WHERE d.doc_id = passages.doc_id) WHERE metadata IS NOT NULL AND metadata !="
            " (SELECT d.metadata FROM documents d WHERE d.doc_id = passages.doc_id)"
        ).rowcount
        db.execute("INSERT INTO passages_fts(passages_fts) VALUES('rebuild')")
        if orphans or copied:
            store.catalog.bump_version()
    removed = [f"removed {orphans} passages whose document is gone"] if orphans else []
    fixed = [f"gave {copied} passages their document's metadata"] if copied else []
    return [*removed, *fixed, "rebuilt the keyword index from the passages"]


def _remove_leftovers(store: EmbeddedStore) -> list[str]:
    removed: list[str] = []
    for item in stale_files(store):
        try:
            item.unlink()
        except OSError as exc:
            raise StoreError(f"{item}: cannot remove: {exc.strerror}") from exc
        removed.append(f"removed {item.name}")
    return removed
