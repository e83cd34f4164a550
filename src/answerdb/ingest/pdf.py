"""The PDF reader: each page's text layer, reflowed as plain text is (plaintext.py)."""

from __future__ import annotations

import io
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from pypdf import PdfReader

from answerdb.errors import InputError
from answerdb.types import Document

from .common import Source, normalise_space
from .faq import Line, render
from .plaintext import text_lines

_DAMAGED = "damaged or unreadable PDF"
# pypdf's logger is process-wide: one PDF at a time collects its warnings.
_PYPDF_LOGGER = threading.Lock()


def read_pdf(src: Source) -> list[Document]:
    """A PDF as one Document: the text of every page, titled by its metadata or file name.

    pypdf's warnings are kept off stderr: when no text comes out, they tell a damaged file
    from one without a text layer.

    Raises:
        InputError: the file is damaged or unreadable, is encrypted, or has no text to
            extract.
    """
    with _pypdf_warnings() as warnings:
        pages, title = _pdf_pages(src)
    lines: list[Line] = []
    for page in pages:
        lines.extend(text_lines(page.split("\n")) if page.strip() else [])
        lines.append(Line(""))
    text = render(lines)
    if not text:
        raise src.error(_why_no_text(pages, warnings))
    metadata = {"source_format": "pdf", "pages": len(pages)}
    doc = Document(src.doc_id, text, src.name, title or src.path.stem, metadata=metadata)
    return [doc]


def _why_no_text(pages: list[str], warnings: list[str]) -> str:
    if warnings:
        return f"{_DAMAGED}: {normalise_space(warnings[0])}"
    if not pages:
        return f"{_DAMAGED}: it has no pages"
    return "no extractable text (a scanned PDF needs OCR first)"


def _pdf_pages(src: Source) -> tuple[list[str], str]:
    try:
        reader = PdfReader(io.BytesIO(src.data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise src.error("encrypted PDF, cannot read it without the password")
        pages = [page.extract_text() or "" for page in reader.pages]
        title = (reader.metadata.title if reader.metadata else None) or ""
    except InputError:
        raise
    except Exception as exc:  # pypdf raises many types of error on damaged files
        raise src.error(f"{_DAMAGED}: {type(exc).__name__}: {normalise_space(str(exc))}") from None
    return pages, normalise_space(str(title))


class _Collect(logging.Handler):
    """Keeps the messages of the records it is given."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextmanager
def _pypdf_warnings() -> Iterator[list[str]]:
    """pypdf's warnings while the block runs, collected instead of printed: with no handler
    configured, logging writes them to stderr around ingest's own one-line reason."""
    logger = logging.getLogger("pypdf")
    collect = _Collect()
    # One PDF at a time changes the logger, so that each restores what it found.
    with _PYPDF_LOGGER:
        saved = logger.level, logger.propagate
        logger.addHandler(collect)
        logger.setLevel(logging.WARNING)
        logger.propagate = False
        try:
            yield collect.messages
        finally:
            logger.removeHandler(collect)
            logger.setLevel(saved[0])
            logger.propagate = saved[1]
