"""The Store contract: what every backend (embedded folder, Milvus) must do.

Everything above it — ingest, ask, Keep Reading, series, eval, serve — talks to this
interface only (invariant 5). A backend is a few hundred lines behind these methods.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from answerdb.errors import InputError
from answerdb.types import CheckReport, Document, Hit, Passage, Vectors
from answerdb.where import Where

# What ``bulk`` yields: a step of index work for the writer's idle moments (False: none left),
# or None when the backend has none to offer.
Grow = Callable[[], bool] | None
# Vectors made again as ingest made them: for (document, its passages in order) pairs, one row
# per passage in the same order (`repair` remakes lost vectors; the store owns no model).
Reembed = Callable[[list[tuple[Document, list[Passage]]]], Vectors]


class Store(ABC):
    """Documents, passages and their vectors, searchable by vector and by keyword."""

    @abstractmethod
    def model(self) -> dict[str, str]:
        """The embedding model recorded at creation ({} for a new store)."""

    @abstractmethod
    def set_model(self, name: str, revision: str, dim: int) -> None:
        """Record the model of a new store (invariant 6)."""

    @abstractmethod
    def add(
        self, docs: list[tuple[Document, str]], passages: list[Passage], vectors: Vectors
    ) -> None:
        """Add one batch of (document, content hash) with its passages and their vectors,
        visible whole or not at all (invariant 2); documents with a known id are replaced."""

    @abstractmethod
    def delete(self, doc_ids: list[str]) -> int:
        """Delete documents with their passages; returns how many documents were deleted."""

    @abstractmethod
    def vector_search(self, query: Vectors, k: int, where: Where | None = None) -> list[Hit]:
        """The k passages nearest to a unit ``query`` among those matching ``where``."""

    @abstractmethod
    def keyword_search(self, query: str, k: int, where: Where | None = None) -> list[Hit]:
        """The k passages with the best BM25 score for ``query`` among those matching."""

    @abstractmethod
    def crowding(self, rows: list[int], k: int) -> Vectors:
        """For each passage row, the mean similarity of its k nearest other passages: how
        crowded its neighbourhood is (hubness; 0 for a passage with no neighbour)."""

    @abstractmethod
    def document(self, doc_id: str) -> Document | None:
        """One document with its text, or None."""

    @abstractmethod
    def documents(self) -> list[Document]:
        """Every document (text left empty), oldest first."""

    @abstractmethod
    def neighbours(self, doc_id: str, width: int) -> list[tuple[int, Document]]:
        """The documents of ``doc_id``'s source added up to ``width`` places before and after
        it, each with its place (negative before; text left empty): its author's order."""

    @abstractmethod
    def passages(self, doc_id: str) -> list[Passage]:
        """A document's passages, in order (``row`` is the backend's passage id)."""

    @abstractmethod
    def passage_vectors(self, doc_id: str) -> Vectors:
        """The stored vectors of a document's passages, in order (float32)."""

    @abstractmethod
    def has_hash(self, content_hash: str) -> bool:
        """Whether a document with this content hash is stored."""

    def stored_hashes(self, hashes: list[str]) -> set[str]:
        """Which of these content hashes are stored (a backend may ask for all at once)."""
        return {content_hash for content_hash in hashes if self.has_hash(content_hash)}

    @abstractmethod
    def existing_ids(self, doc_ids: list[str]) -> set[str]:
        """Which of these document ids are stored."""

    @abstractmethod
    def stats(self) -> dict[str, Any]:
        """Counts and sizes, for `answerdb stats`."""

    @abstractmethod
    def compact(self) -> dict[str, Any]:
        """Give the space of deleted passages back (invariant 7)."""

    @abstractmethod
    def reindex(self) -> None:
        """Rebuild every derived index from the stored vectors."""

    @abstractmethod
    def close(self) -> None:
        """Release files and locks."""

    # -- optional: backends that can do better override these ------------------------------
    def bulk(
        self, passages: int | None = None, graph_waits: bool = False
    ) -> AbstractContextManager[Grow]:
        """A context for many ``add`` batches (``passages`` in all, None when unknown): a
        backend may defer index work to its end, or with ``graph_waits`` to ``reindex``."""
        return nullcontext()

    def check(self) -> CheckReport:
        """Verify the stored parts agree; InputError where the backend cannot."""
        raise InputError("check is not supported on this backend (a folder knowledge base is)")

    def repair(self, embed: Reembed | None = None) -> tuple[list[str], CheckReport]:
        """Rebuild derived parts, with ``embed`` the vectors too (those missing or damaged);
        what was done, then a fresh check. InputError as ``check``."""
        raise InputError("repair is not supported on this backend (a folder knowledge base is)")
