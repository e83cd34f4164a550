"""Vectors made again (invariant 1: they derive from the passages): the rows the vector file
lacks, or whose blocks fail their checksums, embedded from the catalog's passage text by the
caller's model (the recorded one), written in place and checksummed afresh.

The store owns no model: `repair` is handed ``embed`` by the facade, which embeds a passage's
text exactly as ingest did.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from answerdb.errors import AnswerDBError
from answerdb.store.base import Reembed
from answerdb.store.embedded import sums
from answerdb.store.embedded.catalog import Catalog
from answerdb.types import Document, Passage, Vectors

if TYPE_CHECKING:
    from answerdb.store.embedded.store import EmbeddedStore

# Passages per call of ``embed``: the model's batches.
EMBED_PASSAGES = 256
# (first row, rows) of a range written anew.
Span = tuple[int, int]


def reembed(store: EmbeddedStore, embed: Reembed | None) -> list[str]:
    """Make the missing and damaged vectors of ``store`` again (under its writer lock); what
    was done, or why it was not."""
    catalog = store.catalog
    spans, tail = broken_spans(store)
    if not spans:
        return []
    blocks = [(start, count, 0) for start, count in spans]
    where = f"{sums.row_ranges(blocks)} of {store.vectors.path.name}"
    if embed is None:
        return [f"left {where}: no model here to embed them again (use the answerdb command)"]
    doc_ids = sums.documents_in(catalog.db, blocks)
    try:
        made = _embedded(catalog, doc_ids, embed)
    except AnswerDBError as exc:
        return [f"left {where}: cannot embed them again: {exc}"]
    _write(store, spans, tail, made)
    model = catalog.meta("model", "the recorded model")
    passages = f"{len(made)} passage{'s' * (len(made) != 1)}"
    return [f"embedded {passages} of {sums.named(doc_ids)} again with {model} ({where})"]


def broken_spans(store: EmbeddedStore) -> tuple[list[Span], int | None]:
    """The row ranges to write anew: each damaged block within the file, and from where the
    file falls short (the start of the first block it cuts) to the committed end, or None."""
    vectors, catalog = store.vectors, store.catalog
    rows, stored = catalog.committed_rows(), vectors.stored_rows()
    recorded = [block for block in catalog.vector_sums() if block[1]]
    damaged = sums.damaged_blocks(vectors.path, vectors.row_bytes, recorded, rows)
    tail = None
    if stored < rows:
        cut = [start for start, count, _ in recorded if start < stored < start + count]
        tail = min([stored, *cut])
    spans = [(s, min(c, rows - s)) for s, c, _ in damaged if tail is None or s + c <= tail]
    if tail is not None:
        spans.append((tail, rows - tail))
    return [(start, count) for start, count in spans if count > 0], tail


def _embedded(catalog: Catalog, doc_ids: list[str], embed: Reembed) -> dict[int, Vectors]:
    """Every passage row of these documents with its vector, made ``EMBED_PASSAGES`` at a time."""
    made: dict[int, Vectors] = {}
    batch: list[tuple[Document, list[Passage]]] = []
    for doc_id in doc_ids:
        doc = catalog.document(doc_id)
        if doc is not None:
            batch.append((doc, catalog.passages_of(doc_id)))
        if sum(len(passages) for _, passages in batch) >= EMBED_PASSAGES:
            made.update(_rows_of(batch, embed(batch)))
            batch = []
    if batch:
        made.update(_rows_of(batch, embed(batch)))
    return made


def _rows_of(batch: list[tuple[Document, list[Passage]]], vectors: Vectors) -> dict[int, Vectors]:
    rows = [passage.row for _, passages in batch for passage in passages]
    return dict(zip(rows, vectors, strict=True))


def _write(
    store: EmbeddedStore, spans: list[Span], tail: int | None, made: dict[int, Vectors]
) -> None:
    """Write each span (deleted rows as zeros) and commit its fresh checksums in one go."""
    vectors, catalog = store.vectors, store.catalog
    blocks: list[sums.Block] = []
    for start, count in spans:
        rows = np.zeros((count, vectors.dim), dtype=np.float32)
        for offset in range(count):
            if start + offset in made:
                rows[offset] = made[start + offset]
        blocks += vectors.overwrite(rows, at_row=start)
    with catalog.transaction() as db:
        if tail is not None:  # the blocks the short file cut are made again whole
            db.execute("DELETE FROM vector_sums WHERE start >= ?", (tail,))
        catalog.record_sums(blocks)
        catalog.bump_version()
