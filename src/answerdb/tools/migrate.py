"""``answerdb migrate SRC DST``: copy a knowledge base between stores, vectors included.

The copy is written to a staging store beside DST (folder ``DST.migrating``, or collection
``<name>__migrating``) and switched into place only after counts and a sample of vectors check
out, so DST never shows a half-written copy. An interrupted run leaves the staging store; the
same command resumes it, skipping documents already there with the same content hash.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from answerdb.errors import InputError, ModelMismatchError, StoreError
from answerdb.store import (
    Store,
    StoreURI,
    open_store,
    parse_store_uri,
    promote,
    refuse_occupied,
    staging_of,
)
from answerdb.types import Document, Passage, Vectors

Progress = Callable[[int, int], None]
BATCH_PASSAGES = 512
SAMPLE_DOCUMENTS = 50
# One int8 step (1/254): the coarsest quantisation any store applies.
VECTOR_TOLERANCE = 1.0 / 254


@dataclass
class MigrateReport:
    """What a migration did: documents copied and skipped (resumed), and what was checked."""

    source: str
    destination: str
    copied: int = 0
    skipped: int = 0
    documents: int = 0
    passages: int = 0
    sampled: int = 0
    max_vector_error: float = 0.0
    notes: list[str] = field(default_factory=list)


Batch = list[tuple[Document, str, list[Passage], Vectors]]


def migrate(src: str | Path, dst: str | Path, progress: Progress | None = None) -> MigrateReport:
    """Copy every document, passage and vector from ``src`` to ``dst`` (a new store).

    Raises InputError for a malformed URI, a missing source or an existing destination,
    ModelMismatchError when a staging copy holds another model, StoreError when the check
    after copying fails (the staging store is kept) or Milvus cannot be reached.
    """
    src_uri, dst_uri = parse_store_uri(src), parse_store_uri(dst)
    if str(src_uri) == str(dst_uri):
        raise InputError(f"{src_uri}: source and destination are the same store")
    refuse_occupied(dst_uri)
    report = MigrateReport(str(src_uri), str(dst_uri))
    source = open_store(src_uri, readonly=True)
    try:
        model = source.model()
        if not model:
            raise InputError(f"{src_uri}: empty knowledge base (no model recorded)")
        staging_uri = staging_of(dst_uri)
        staging = open_store(staging_uri)
        try:
            _prepare(staging, staging_uri, model)
            _copy(source, staging, report, progress)
            _verify(source, staging, report)
        finally:
            staging.close()
        promote(staging_uri, dst_uri)
    finally:
        source.close()
    return report


def _prepare(staging: Store, uri: StoreURI, model: dict[str, str]) -> None:
    held = staging.model()
    if not held:
        staging.set_model(model["model"], model["revision"], int(model["dim"]))
    elif held != model:
        raise ModelMismatchError(
            f"{uri}: an earlier migration staged {held.get('model')} (dim {held.get('dim')}) "
            f"there, the source holds {model.get('model')} (dim {model.get('dim')}); remove it"
        )


def _copy(source: Store, staging: Store, report: MigrateReport, progress: Progress | None) -> None:
    listed = source.documents()
    report.documents = len(listed)
    present = staging.existing_ids([doc.doc_id for doc in listed])
    batch: Batch = []
    for done, listing in enumerate(listed, start=1):
        doc = source.document(listing.doc_id)
        if doc is None:  # deleted from the source meanwhile
            continue
        digest = doc.content_hash()
        if doc.doc_id in present and staging.has_hash(digest):
            report.skipped += 1
        else:
            batch.append(
                (doc, digest, source.passages(doc.doc_id), source.passage_vectors(doc.doc_id))
            )
        if sum(len(item[2]) for item in batch) >= BATCH_PASSAGES or done == len(listed):
            report.copied += _write(staging, batch)
            batch = []
        if progress:
            progress(done, len(listed))


def _write(staging: Store, batch: Batch) -> int:
    if not batch:
        return 0
    for doc, _, passages, vectors in batch:
        if len(passages) != len(vectors):
            raise StoreError(f"{doc.doc_id}: {len(passages)} passages but {len(vectors)} vectors")
    passages = [Passage(p.doc_id, p.ordinal, p.text) for _, _, ps, _ in batch for p in ps]
    vectors = np.concatenate([v for *_, v in batch]).astype(np.float32)
    staging.add([(doc, digest) for doc, digest, _, _ in batch], passages, vectors)
    return len(batch)


def _verify(source: Store, staging: Store, report: MigrateReport) -> None:
    want, got = source.stats(), staging.stats()
    for key in ("documents", "passages"):
        if want[key] != got[key]:
            raise StoreError(
                f"check failed: the source holds {want[key]} {key}, the copy {got[key]}; "
                "run the command again to resume"
            )
    report.passages = int(got["passages"])
    ids = [doc.doc_id for doc in source.documents()]
    for doc_id in random.Random(0).sample(ids, min(SAMPLE_DOCUMENTS, len(ids))):
        _compare(doc_id, source, staging, report)
        report.sampled += 1


def _compare(doc_id: str, source: Store, staging: Store, report: MigrateReport) -> None:
    texts = [p.text for p in source.passages(doc_id)]
    if [p.text for p in staging.passages(doc_id)] != texts:
        raise StoreError(f"check failed: the passages of {doc_id} differ in the copy")
    want, got = source.passage_vectors(doc_id), staging.passage_vectors(doc_id)
    error = float(np.abs(want - got).max()) if want.size and want.shape == got.shape else 0.0
    if want.shape != got.shape or error > VECTOR_TOLERANCE:
        raise StoreError(f"check failed: the vectors of {doc_id} differ in the copy ({error:.4f})")
    report.max_vector_error = max(report.max_vector_error, error)
