"""The reader for unmarked text: plain text files, with FAQ question lines.

It reflows hard-wrapped lines into one line per paragraph (PDF pages go the same way), so
that the splitter, which treats a line end as a sentence boundary, never cuts a sentence at a
wrap.
"""

from __future__ import annotations

import re

from answerdb.types import Document

from .common import Source, normalise_space
from .faq import Line, Page, articles

# A first line shorter than this reads as a title; a longer one is already prose.
MAX_TITLE_CHARS = 100
_ITEM = re.compile(r"^\s*(?:[-*+•]|\d{1,9}[.)])\s+")
_Q_PREFIX = re.compile(r"^(?:Q|Question)\s*[:.)]\s*", re.IGNORECASE)


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
    page = Page(src.doc_id, src.name, title, text_lines(raw), metadata={"source_format": "text"})
    return articles(page)


def text_lines(raw: list[str]) -> list[Line]:
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
