"""Compaction (invariant 7): the live rows copied into the next generation's vector file and
the passages renumbered in one transaction; then the catalog's freed pages given back.

What is copied is verified first: a row that fails its checksum would otherwise live on under
the new file's fresh checksums, where `check` could no longer see it.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import numpy.typing as npt

from answerdb.errors import StoreError
from answerdb.store.embedded import sums
from answerdb.store.embedded.catalog import Catalog
from answerdb.store.embedded.vectors import REPAIR_HINT, VectorFile


def write_generation(
    vectors: VectorFile, catalog: Catalog, live: npt.NDArray[np.int64], target: Path
) -> None:
    """Copy the ``live`` rows (sorted) of ``vectors`` into ``target``, the file of the next
    generation, and commit the switch. StoreError when a row to copy fails its checksum."""
    committed = catalog.committed_rows()
    refuse_damage(vectors, catalog, live, committed)
    codes = np.asarray(vectors.rows(committed)[live])
    new = VectorFile(target, vectors.dim, vectors.dtype, vectors.scale)
    blocks = new.append(vectors.decode(codes), at_row=0)
    generation = int(catalog.meta("generation", "0") or 0) + 1
    catalog.switch_generation(generation, live, blocks)


def refuse_damage(
    vectors: VectorFile, catalog: Catalog, live: npt.NDArray[np.int64], committed: int
) -> None:
    """StoreError naming the damaged blocks that hold ``live`` rows, and their documents."""
    bad = sums.damaged_blocks(vectors.path, vectors.row_bytes, catalog.vector_sums(), committed)
    # A block of deleted rows alone is dropped, not copied: its damage goes with it.
    copied = [b for b in bad if np.any((live >= b[0]) & (live < b[0] + b[1]))]
    if copied:
        docs = sums.named(sums.documents_in(catalog.db, copied))
        raise StoreError(
            f"{vectors.path}: {sums.row_ranges(copied)} ({docs}) fail their checksums;"
            f" not compacted, which would keep them under new checksums: {REPAIR_HINT}"
        )


def vacuum(catalog: Catalog) -> dict[str, int | str]:
    """Rewrite the catalog without the pages deletes freed; how many bytes that gave back.
    A failure (a full disk: VACUUM needs a copy's room) leaves the catalog as it was."""
    db = catalog.db
    with catalog.guard:
        try:
            before = _pages(db)
            db.execute("VACUUM")
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # readers' snapshots may hold it back
        except sqlite3.Error as exc:
            return {"catalog_vacuum": f"skipped: {exc}"}
        return {"catalog_bytes_freed": max(0, before - _pages(db))}


def _pages(db: sqlite3.Connection) -> int:
    """The catalog's size in bytes as SQLite counts it (free pages included)."""
    count = int(db.execute("PRAGMA page_count").fetchone()[0])
    return count * int(db.execute("PRAGMA page_size").fetchone()[0])
