"""answerdb: an embedded question-answering knowledge base.

import answerdb
db = answerdb.open("kb/")
db.ingest(["docs/"])
answer = db.ask("How do I ...?")
"""

from __future__ import annotations

from pathlib import Path

from answerdb.db import AnswerDB
from answerdb.embed import DEFAULT_MODEL
from answerdb.errors import AnswerDBError, InputError, LockedError, ModelMismatchError, StoreError
from answerdb.retrieve.hybrid import FusionSettings
from answerdb.store.embedded import EmbeddedStore
from answerdb.types import Answer, Citation, Document, Hit, IngestReport, Related, Skipped

__version__ = "0.1.0"


def open(
    path: str | Path,
    model: str = DEFAULT_MODEL,
    dtype: str = "int8",
    readonly: bool = False,
    fusion: FusionSettings | None = None,
) -> AnswerDB:
    """Open (or create) the knowledge base in folder ``path``.

    ``dtype`` (int8, float16, float32) applies when the folder is new. Raises InputError for a
    path that is not a knowledge base when ``readonly``, and ModelMismatchError on first use
    when the folder was built with another model.
    """
    store = EmbeddedStore(Path(path), dtype=dtype, readonly=readonly)
    return AnswerDB(store, model=model, fusion=fusion)


__all__ = [
    "Answer",
    "AnswerDB",
    "AnswerDBError",
    "Citation",
    "Document",
    "FusionSettings",
    "Hit",
    "IngestReport",
    "InputError",
    "LockedError",
    "ModelMismatchError",
    "Related",
    "Skipped",
    "StoreError",
    "open",
]
