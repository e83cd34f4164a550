"""A deterministic workload for crash and concurrency tests: embedder, documents, journal.

The thing under test is the store, so embedding is a fast word-hash (no model), and every
document carries a unique token that finds it by keyword and by its own passage vector.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from answerdb.embed.base import Progress, Vectors
from answerdb.types import Document

VOCAB = [f"{a}{b}" for a in ("ka", "lo", "mi", "nu", "pe", "ra", "si", "tu") for b in range(60)]


class WordHashEmbedder:
    """Bag of hashed words, L2-normalised: fast and deterministic; stands in for a model."""

    name = "stress-hash"
    revision = "1"
    dim = 96

    def embed(self, texts: Sequence[str], progress: Progress | None = None) -> Vectors:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in text.lower().split():
                digest = hashlib.blake2b(word.strip(".,?!").encode(), digest_size=4).digest()
                out[i, int.from_bytes(digest, "little") % self.dim] += 1.0
            out[i] /= max(float(np.linalg.norm(out[i])), 1e-9)
        if progress:
            progress(len(texts))
        return out

    def embed_query(self, text: str) -> Vectors:
        query: Vectors = self.embed([text])[0]
        return query


def token(doc_id: str, version: str) -> str:
    """The word only this version of this document contains (``version`` letters and digits)."""
    return f"tok{doc_id.replace('-', 'x')}v{version}"


def make_document(rng: random.Random, doc_id: str, version: str) -> Document:
    """A document of 1 to 3 passages (long ones split) that ``token`` finds."""
    sentences = [f"This is {token(doc_id, version)} speaking."]
    for _ in range(rng.choice([1, 2, 4, 12, 30])):
        words = rng.choices(VOCAB, k=rng.randint(6, 14))
        sentences.append(" ".join(words).capitalize() + ".")
    return document(doc_id, " ".join(sentences))


def document(doc_id: str, text: str) -> Document:
    """The document the writer stores for this text (title and source follow from the id)."""
    return Document(doc_id, text, source=f"stress/{doc_id}", title=f"On {doc_id}")


def token_of(text: str) -> str:
    """The unique token in a text ``make_document`` wrote."""
    return text.split()[2]


@dataclass
class Op:
    """One write the writer journals: add or replace (docs), delete (ids), compact, reopen."""

    seq: int
    kind: str
    docs: dict[str, str]
    ids: list[str]

    def to_json(self, state: str) -> str:
        return json.dumps({"state": state, **vars(self)}) + "\n"


class Journal:
    """Lines the writer appends before and after each write; a torn last line is ignored."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    def begin(self, op: Op) -> None:
        os.write(self._fd, op.to_json("begin").encode())

    def done(self, op: Op) -> None:
        os.write(self._fd, op.to_json("done").encode())

    @staticmethod
    def read(path: Path) -> list[dict[str, Any]]:
        if not path.exists():
            return []
        lines = path.read_text().split("\n")
        # The last element is "" after a whole line, or a line the kill cut short.
        return [json.loads(line) for line in lines[:-1]]
