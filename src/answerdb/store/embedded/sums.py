"""Vector checksums: the CRC-32 of each block of rows, committed with the rows (the catalog's
``vector_sums``), so that damage is found by `check`, never copied under fresh checksums by
`compact`, and mended a block at a time by `repair`."""

from __future__ import annotations

import sqlite3
import zlib
from pathlib import Path
from typing import BinaryIO

# Rows per checksum: a damaged byte costs re-embedding at most this many rows.
SUM_ROWS = 1024
# Documents a message names before it counts the rest.
NAMED = 5
# (first row, rows, CRC-32)
Block = tuple[int, int, int]


def block_sums(data: bytes, start: int, row_bytes: int) -> list[Block]:
    """The checksum of each block of up to SUM_ROWS rows of ``data``, whose first row is
    ``start``."""
    rows = len(data) // row_bytes if row_bytes else 0
    view = memoryview(data)
    blocks: list[Block] = []
    for first in range(0, rows, SUM_ROWS):
        count = min(SUM_ROWS, rows - first)
        piece = view[first * row_bytes : (first + count) * row_bytes]
        blocks.append((start + first, count, zlib.crc32(piece)))
    return blocks


def damaged_blocks(path: Path, row_bytes: int, sums: list[Block], rows: int) -> list[Block]:
    """The blocks of the first ``rows`` whose bytes (short or missing ones included) differ
    from their checksum, or that reach past ``rows``."""
    sums = [block for block in sums if block[1]]
    if not path.exists():
        return sums
    with open(path, "rb") as fh:
        return [block for block in sums if not _intact(fh, row_bytes, block, rows)]


def _intact(fh: BinaryIO, row_bytes: int, block: Block, rows: int) -> bool:
    start, count, crc = block
    fh.seek(start * row_bytes)
    return start + count <= rows and zlib.crc32(fh.read(count * row_bytes)) == crc


def row_ranges(blocks: list[Block]) -> str:
    """``rows 5-9, 20-29`` for blocks (the first few)."""
    shown = ", ".join(f"{start}-{start + count - 1}" for start, count, _ in blocks[:NAMED])
    more = f" and {len(blocks) - NAMED} more blocks" if len(blocks) > NAMED else ""
    return f"rows {shown}{more}"


def documents_in(db: sqlite3.Connection, blocks: list[Block]) -> list[str]:
    """The ids of the documents whose passages lie in ``blocks``, in row order."""
    found: dict[str, None] = {}
    for start, count, _ in blocks:
        sql = "SELECT DISTINCT doc_id FROM passages WHERE row >= ? AND row < ? ORDER BY row"
        found.update((row[0], None) for row in db.execute(sql, (start, start + count)))
    return list(found)


def named(doc_ids: list[str]) -> str:
    """``documents a, b and 3 more`` (or ``no live documents``)."""
    if not doc_ids:
        return "no live documents"
    shown = ", ".join(doc_ids[:NAMED])
    more = f" and {len(doc_ids) - NAMED} more" if len(doc_ids) > NAMED else ""
    return f"document{'s' * (len(doc_ids) > 1)} {shown}{more}"
