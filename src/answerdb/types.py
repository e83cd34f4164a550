"""Plain data types shared by every layer: documents in, hits and answers out."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from answerdb.errors import InputError

Metadata = dict[str, Any]
# Unit float32 rows: embeddings, stored vectors, query vectors.
Vectors = npt.NDArray[np.float32]


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
    # False when no passage is relevant enough to answer from: ``text`` is then empty and
    # ``hits`` are the nearest articles, offered instead.
    answered: bool = True
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


# HNSW parameters by default: links per node, build and search candidate lists.
DEFAULT_M = 16
DEFAULT_EF_CONSTRUCTION = 128
DEFAULT_EF_SEARCH = 96


@dataclass(frozen=True)
class IndexSettings:
    """HNSW parameters: ``m`` links per node and ``ef_construction`` shape the graph (they
    apply to graphs built after they are set: new rows, `reindex`); ``ef_search`` is the
    candidate list of a query (higher: better recall, fewer queries per second)."""

    m: int = DEFAULT_M
    ef_construction: int = DEFAULT_EF_CONSTRUCTION
    ef_search: int = DEFAULT_EF_SEARCH

    def __post_init__(self) -> None:
        for name in ("m", "ef_construction", "ef_search"):
            value = getattr(self, name)
            if not isinstance(value, int) or not 2 <= value <= 4096:
                raise InputError(f"index {name} must be an integer in 2..4096, not {value!r}")


@dataclass
class Finding:
    """One thing checked: ``part`` is catalog, vectors, index or files."""

    part: str
    level: str
    message: str
    repairable: bool = False


@dataclass
class CheckReport:
    """Every finding, with the counts they refer to."""

    path: str
    counts: dict[str, int] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No errors (warnings allowed)."""
        return not any(f.level == "error" for f in self.findings)

    def add(self, part: str, level: str, message: str, repairable: bool = False) -> None:
        self.findings.append(Finding(part, level, message, repairable))

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "ok": self.ok,
            "counts": self.counts,
            "findings": [vars(f) for f in self.findings],
        }


def plain(value: Any) -> Any:
    """Dataclasses (nested, in lists, tuples and dicts) as JSON-ready values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    return value
