"""Documents from a request: JSON text, or an uploaded file read in memory (never from disk)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path, PurePosixPath
from typing import Any

from pydantic import BaseModel, Field

from answerdb.errors import InputError
from answerdb.ingest.common import Source
from answerdb.ingest.readers import READERS, SUPPORTED
from answerdb.types import Document


class DocumentIn(BaseModel):
    """One article sent as JSON; ``doc_id`` defaults to a hash of the text."""

    text: str = Field(min_length=1, description="the article's text")
    doc_id: str | None = Field(default=None, min_length=1, max_length=500)
    title: str = ""
    question: str = ""
    metadata: dict[str, Any] = Field(default_factory=dict)

    def document(self) -> Document:
        doc_id = self.doc_id or "api/" + hashlib.sha256(self.text.encode()).hexdigest()[:16]
        return Document(
            doc_id=doc_id,
            text=self.text,
            source="api",
            title=self.title,
            question=self.question,
            metadata=dict(self.metadata),
        )


def read_upload(filename: str, data: bytes) -> list[Document]:
    """The documents in an uploaded file, chosen by its suffix; ids start ``upload/``.

    Only the file's base name is used: it names the reader and the doc id, never a path.
    Raises InputError for an unsupported suffix or unreadable content.
    """
    name = _safe_name(filename)
    suffix = PurePosixPath(name).suffix.lower()
    reader = READERS.get(suffix)
    if reader is None:
        raise InputError(f"{name}: unsupported format (supported: {', '.join(SUPPORTED)})")
    doc_id = "upload/" + PurePosixPath(name).stem
    # A Path names the upload in messages; readers take the bytes, not the file.
    return reader(Source(Path(name), data, doc_id))


def _safe_name(filename: str) -> str:
    base = re.split(r"[\\/]", filename or "")[-1]
    base = re.sub(r"[^A-Za-z0-9._ -]+", "_", base).strip(" .")
    if not base:
        raise InputError("the uploaded file has no name")
    return base[:200]
