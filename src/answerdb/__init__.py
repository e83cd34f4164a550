"""answerdb: an embedded question-answering knowledge base.

import answerdb
db = answerdb.open("kb/")
db.ingest(["docs/"])
answer = db.ask("How do I ...?")
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING

from answerdb.errors import AnswerDBError, InputError, LockedError, ModelMismatchError, StoreError
from answerdb.types import (
    Answer,
    CheckReport,
    Citation,
    Document,
    Hit,
    IndexSettings,
    IngestReport,
    Related,
    Skipped,
)
from answerdb.where import Where

if TYPE_CHECKING:
    from answerdb.answer.generate import LLMConfig
    from answerdb.answer.series import Series
    from answerdb.db import AnswerDB
    from answerdb.embed import Embedder
    from answerdb.retrieve.fusion import FusionSettings
    from answerdb.retrieve.rerank import Reranker

# Imported on first use: a process that needs one module (the embedding child, the CLI's
# --help) does not pay for the whole package.
_LAZY = {
    "AnswerDB": "answerdb.db",
    "Embedder": "answerdb.embed",
    "FusionSettings": "answerdb.retrieve.fusion",
    "LLMConfig": "answerdb.answer.generate",
    "Reranker": "answerdb.retrieve.rerank",
    "Series": "answerdb.answer.series",
}

__version__ = "0.1.0"


def open(
    path: str | Path,
    model: str | None = None,
    dtype: str = "int8",
    readonly: bool = False,
    fusion: FusionSettings | None = None,
    index: IndexSettings | None = None,
    reranker: Reranker | None = None,
    create: bool = True,
    embedder: Embedder | None = None,
    min_relevance: float | None = None,
) -> AnswerDB:
    """Open (or, with ``create``, create) the knowledge base at ``path``: a folder, or a store
    URI such as ``milvus-lite:kb.db`` or ``milvus://host:19530/collection`` (docs/scaling.md).

    ``model`` names the embedding model (``answerdb.embed.MODELS``, see docs/models.md): by
    default the one recorded in the knowledge base, and DEFAULT_MODEL for a new one;
    ``embedder`` hands over one already loaded (handles that share a model).

    ``dtype`` (int8, float16, float32) applies when an embedded folder is new; ``index``
    (``IndexSettings(m, ef_construction, ef_search)``) is recorded by an embedded writer
    and used by later opens (`answerdb reindex` rebuilds the graph with it). Raises
    InputError for a malformed URI or a path that is not a knowledge base when ``readonly``
    or not ``create``, StoreError when Milvus cannot be reached, and ModelMismatchError on
    first use when the knowledge base was built with another model. ``reranker`` enables the
    ``*+rerank`` search modes (none ships built in: see answerdb.retrieve.rerank).
    ``min_relevance`` moves the floor below which ``ask`` answers that the knowledge base has
    no good answer (default: the floor measured for the model; 0 answers everything).
    """
    from answerdb.db import AnswerDB
    from answerdb.embed import DEFAULT_MODEL
    from answerdb.store import open_store

    store = open_store(path, dtype=dtype, readonly=readonly, index=index, create=create)
    try:
        name = embedder.name if embedder else model or store.model().get("model") or DEFAULT_MODEL
    except BaseException:
        store.close()
        raise
    return AnswerDB(
        store,
        name,
        fusion=fusion,
        embedder=embedder,
        reranker=reranker,
        min_relevance=min_relevance,
    )


__all__ = [
    "Answer",
    "AnswerDB",
    "AnswerDBError",
    "CheckReport",
    "Citation",
    "Document",
    "Embedder",
    "FusionSettings",
    "Hit",
    "IndexSettings",
    "IngestReport",
    "InputError",
    "LLMConfig",
    "LockedError",
    "ModelMismatchError",
    "Related",
    "Reranker",
    "Series",
    "Skipped",
    "StoreError",
    "Where",
    "open",
]


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'answerdb' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value
