"""Rows of the Milvus collections built from documents and passages, and read back.

Ids are derived, never drawn: a passage's id hashes its document id, the document version's
content hash and its ordinal, so writing the same batch twice overwrites, never duplicates.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

from answerdb.errors import InputError
from answerdb.store.milvus.analyzer import passage_terms
from answerdb.store.milvus.schema import PART_CHARS, VARCHAR_BYTES
from answerdb.types import Document, Hit, Passage, Vectors

Row = dict[str, Any]


def passage_id(doc_id: str, content_hash: str, ordinal: int) -> int:
    """A stable positive 63-bit id for one passage of one document version."""
    digest = hashlib.blake2b(f"{doc_id}\x1f{content_hash}\x1f{ordinal}".encode(), digest_size=8)
    return int.from_bytes(digest.digest(), "big") >> 1


def head_key(doc_id: str) -> str:
    """The key of a document's head row: one per document, so an upsert switches versions."""
    return f"d:{doc_id}"


def passage_rows(
    docs: list[tuple[Document, str]], passages: list[Passage], vectors: Vectors
) -> list[Row]:
    """One row per passage, carrying its document's version hash, source and metadata."""
    by_id = {doc.doc_id: (doc, content_hash) for doc, content_hash in docs}
    rows = []
    for passage, vector in zip(passages, vectors, strict=True):
        doc, content_hash = by_id[passage.doc_id]
        _check_size(passage.doc_id, "passage", passage.text)
        pid = passage_id(doc.doc_id, content_hash, passage.ordinal)
        passage.row = pid
        rows.append(
            {
                "id": pid,
                "doc_id": doc.doc_id,
                "hash": content_hash,
                "ordinal": passage.ordinal,
                "heading": doc.heading,
                "text": passage.text,
                "terms": passage_terms(doc.heading, passage.text),
                "source": doc.source,
                "meta": doc.metadata,
                "vector": vector.tolist(),
            }
        )
    return rows


def doc_rows(doc: Document, content_hash: str) -> tuple[Row, list[Row]]:
    """The head row of a document and the rows of its text beyond the first part."""
    for name, value in (("id", doc.doc_id), ("source", doc.source), ("title", doc.title)):
        _check_size(doc.doc_id, name, value)
    _check_size(doc.doc_id, "question", doc.question)
    pieces = [doc.text[i : i + PART_CHARS] for i in range(0, len(doc.text), PART_CHARS)] or [""]
    common = {"doc_id": doc.doc_id, "hash": content_hash, "meta": doc.metadata, "dummy": [0, 0]}
    head = {
        **common,
        "key": head_key(doc.doc_id),
        "part": 0,
        "parts": len(pieces),
        "source": doc.source,
        "title": doc.title,
        "question": doc.question,
        "text": pieces[0],
        "added_at": time.time(),
    }
    rest = [
        {
            **common,
            "key": f"p:{content_hash}:{n}",
            "part": n,
            "parts": len(pieces),
            "source": "",
            "title": "",
            "question": "",
            "text": piece,
            "added_at": 0.0,
        }
        for n, piece in enumerate(pieces[1:], start=1)
    ]
    return head, rest


def document_from(head: Row, text: str = "") -> Document:
    """A Document from its head row (``text`` is the whole text, when it was read)."""
    return Document(
        doc_id=str(head["doc_id"]),
        text=text,
        source=str(head["source"]),
        title=str(head["title"]),
        question=str(head["question"]),
        metadata=dict(head["meta"] or {}),
    )


def hit_from(row: Row, score: float) -> Hit:
    """A Hit from a passage row returned by search or query."""
    return Hit(
        row=int(row["id"]),
        doc_id=str(row["doc_id"]),
        text=str(row["text"]),
        score=score,
        heading=str(row["heading"]),
        metadata=dict(row["meta"] or {}),
        ordinal=int(row["ordinal"]),
    )


def _check_size(doc_id: str, what: str, value: str) -> None:
    if len(value.encode()) > VARCHAR_BYTES:
        raise InputError(
            f"{doc_id}: the {what} is longer than Milvus allows ({VARCHAR_BYTES} bytes)"
        )
