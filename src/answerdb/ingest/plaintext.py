"""Readers for unmarked text: plain text files (with FAQ question lines) and PDF.

Both reflow hard-wrapped lines into one line per paragraph, so that the splitter, which
treats a line end as a sentence boundary, never cuts a sentence at a wrap.
"""

from __future__ import annotations

import io
import logging
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from pypdf import PdfReader

from answerdb.errors import InputError
from answerdb.types import Document

from .common import Source, normalise_space
from .faq import Line, Page, articles, render

# A first line shorter than this reads as a title; a longer one is already prose.
MAX_TITLE_CHARS = 100
_ITEM = re.compile(r"^\s*(?:[-*+•]|\d{1,9}[.)])\s+")
_Q_PREFIX = re.compile(r"^(?:Q|Question)\s*[:.)]\s*", re.IGNORECASE)
_DAMAGED = "damaged or unreadable PDF"
_PYPDF_LOGGER = threading.Lock()


def read_text(src: Source) -> list[Document]:
    """A plain text file as Documents: one per FAQ question line, or one for the file.

    The title is the first line when it is short, else the file name. A short line that
    ends with "?", stands after a blank line (or starts with "Q:") and has text after it
    is a question heading.

    Raises:
        InputError: undecodable or empty file.
    """
    raw = src.text().split("\n")
    first = next(line.strip() for line in raw if line.strip())
    title = first if len(first) < MAX_TITLE_CHARS else src.path.stem
    page = Page(src.doc_id, src.name, title, _text_lines(raw), metadata={"source_format": "text"})
    return articles(page)


def _text_lines(raw: list[str]) -> list[Line]:
    last = max(i for i, line in enumerate(raw) if line.strip())
    first = raw.index(next(line for line in raw if line.strip()))
    out: list[Line] = []
    para: list[str] = []
    for i, line in enumerate(raw):
        text = line.strip()
        if _is_question(raw, i, last):
            _flush(out, para)
            out.append(Line(_Q_PREFIX.sub("", text), 2, question=True))
        elif i == first and len(text) < MAX_TITLE_CHARS:
            # A title line stands alone even when text follows it without a blank line.
            _flush(out, para)
            out.append(Line(text))
        elif not text or _ITEM.match(line):
            # A blank line ends a paragraph; a list item starts one.
            _flush(out, para)
            para.append(text)
        else:
            para.append(text)
    _flush(out, para)
    return out


def _is_question(raw: list[str], i: int, last: int) -> bool:
    text = raw[i].strip()
    if not text.endswith("?") or len(text) >= MAX_TITLE_CHARS or i >= last:
        return False
    return i == 0 or not raw[i - 1].strip() or bool(_Q_PREFIX.match(text))


def _flush(out: list[Line], para: list[str]) -> None:
    text = _join_wrapped(para)
    para.clear()
    if text:
        out.append(Line(text))
    elif out and out[-1].text:
        out.append(Line(""))


def _join_wrapped(lines: list[str]) -> str:
    text = ""
    for line in lines:
        if text.endswith("-") and text[-2:-1].isalpha() and line[:1].islower():
            # A word hyphenated at a line end ("infor-" "mation") is one word again.
            text = text[:-1] + line
        else:
            text = f"{text} {line}" if text else line
    return normalise_space(text)


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
        lines.extend(_text_lines(page.split("\n")) if page.strip() else [])
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
