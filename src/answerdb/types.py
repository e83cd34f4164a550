"""Plain data types shared by every layer: documents in, hits and answers out."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

Metadata = dict[str, Any]


@dataclass
class Document:
    """One article as a reader found it, before splitting.

    ``doc_id`` is stable for the same source (a JSONL ``_id``, or the file path plus the
    question heading); ``question`` is set when the document is a Q&A article.
    """

    doc_id: str
    text: str
    source: str
    title: str = ""
    question: str = ""
    metadata: Metadata = field(default_factory=dict)

    @property
    def heading(self) -> str:
        """The line a reader sees first: the question, else the title."""
        return self.question or self.title

    def content_hash(self) -> str:
        """Identifies this version of the document: re-ingesting it unchanged adds nothing."""
        payload = json.dumps(
            [self.doc_id, self.heading, self.text, self.metadata], sort_keys=True, default=str
        )
        return hashlib.sha256(payload.encode()).hexdigest()


@dataclass
class Passage:
    """A piece of a document small enough to embed; ``row`` is its slot in the vector file."""

    doc_id: str
    ordinal: int
    text: str
    row: int = -1


@dataclass
class Hit:
    """One retrieved passage with the score of the retriever that produced it."""

    row: int
    doc_id: str
    text: str
    score: float
    heading: str = ""
    metadata: Metadata = field(default_factory=dict)
    ordinal: int = 0


@dataclass
class Citation:
    """A numbered source of an answer: ``[n]`` in the answer text points at ``hit``."""

    number: int
    hit: Hit


@dataclass
class Related:
    """A Keep Reading entry: another article worth reading next, with a one-line teaser."""

    doc_id: str
    question: str
    teaser: str
    score: float
    series: str = ""


@dataclass
class Answer:
    """What ``ask`` returns: the cited answer, the hits behind it, and what to read next."""

    question: str
    text: str
    citations: list[Citation]
    hits: list[Hit]
    keep_reading: list[Related]
    series: list[str] = field(default_factory=list)
    # Set by ask(generate=True): whether an LLM wrote ``text``, and why not if it failed.
    generated: bool = False
    note: str = ""


@dataclass
class Skipped:
    """A source that was not ingested, and why."""

    source: str
    reason: str


@dataclass
class IngestReport:
    """What ``ingest`` did: documents added, sources skipped (with reasons), passages stored."""

    added: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    passages: int = 0
