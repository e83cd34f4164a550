"""One ``add`` batch: a repeated document id resolved (its last version wins), the passages
numbered after the committed rows, the vectors appended and synced, then the catalog
committed in one transaction (invariant 2)."""

from __future__ import annotations

import numpy as np

from answerdb.store.embedded.catalog import Catalog
from answerdb.store.embedded.vectors import VectorFile, fit_int8_scale
from answerdb.types import Document, Passage, Vectors

Batch = tuple[list[tuple[Document, str]], list[Passage], Vectors]


def last_versions(
    docs: list[tuple[Document, str]], passages: list[Passage], vectors: Vectors
) -> Batch:
    """Each document id once, in the order of its last version, with that version's passages
    and vectors: an id's passages restart at ordinal 0 for each version it is given."""
    last = {doc.doc_id: index for index, (doc, _) in enumerate(docs)}
    if len(last) == len(docs):
        return docs, passages, vectors
    starts = {p.doc_id: index for index, p in enumerate(passages) if p.ordinal == 0}
    keep = [index >= starts.get(p.doc_id, 0) for index, p in enumerate(passages)]
    kept = [p for p, wanted in zip(passages, keep, strict=True) if wanted]
    return [docs[index] for index in sorted(last.values())], kept, vectors[np.asarray(keep)]


def write_batch(catalog: Catalog, file: VectorFile, batch: Batch, fit_scale: bool) -> int:
    """Store ``batch`` (under the writer lock), replacing documents with a known id; the rows
    committed after it. ``fit_scale``: an int8 store's first batch sets its scale."""
    docs, passages, vectors = batch
    replaced = catalog.existing_ids([doc.doc_id for doc, _ in docs])
    start = catalog.committed_rows()
    for offset, passage in enumerate(passages):
        passage.row = start + offset
    fitted = fit_scale and start == 0 and not catalog.meta("int8_scale")
    if fitted:  # the first batch sets how finely int8 codes cut (recorded below)
        file.scale = fit_int8_scale(vectors)
    # Vectors first: until the catalog commits, they are an invisible tail.
    blocks = file.append(vectors, at_row=start)
    by_id = {doc.doc_id: doc for doc, _ in docs}
    with catalog.transaction():
        catalog.delete_documents(sorted(replaced))
        catalog.insert_documents(docs)
        catalog.insert_passages(passages, by_id)
        catalog.record_sums(blocks)
        catalog.set_meta("rows", start + len(passages))
        if fitted:
            catalog.set_meta("int8_scale", file.scale)
        catalog.bump_version()
    return start + len(passages)
