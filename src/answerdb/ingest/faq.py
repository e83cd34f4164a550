"""Q&A articles: a page whose headings are questions becomes one Document per question.

Readers for Markdown, HTML and plain text turn a file into a :class:`Page` of lines, marking
the headings and which of them are questions; :func:`articles` then cuts the page at the
question headings. Document text uses one convention for every reader: one line per
paragraph, list item or code line, and headings as Markdown ``#`` lines, so the splitter
can see them.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from answerdb.errors import InputError
from answerdb.types import Document, Metadata

from .common import unique_slug

# Text before the first question shorter than this is an intro line, not an article.
MIN_PREAMBLE_WORDS = 20


@dataclass(frozen=True)
class Line:
    """A line of a page: body text (``level`` 0) or a heading of ``level`` 1 to 6."""

    text: str
    level: int = 0
    question: bool = False


@dataclass
class Page:
    """A file parsed into lines, with what the reader found about it."""

    doc_id: str
    source: str
    title: str
    lines: list[Line]
    question: str = ""
    metadata: Metadata = field(default_factory=dict)


@dataclass
class _Article:
    question: str
    lines: list[Line]


def render(lines: list[Line]) -> str:
    """The lines as Document text: headings as ``#`` lines, at most one blank line in a row."""
    out: list[str] = []
    for line in lines:
        text = f"{'#' * line.level} {line.text}" if line.level else line.text
        if text.strip() or (out and out[-1]):
            out.append(text.rstrip())
    return "\n".join(out).strip("\n")


def articles(page: Page) -> list[Document]:
    """The page as Documents: one per question heading, or the whole page as one.

    A page whose front matter names its question is one article even if some headings are
    questions. Text before the first question heading stays an article when it is
    substantial. A question with no text under it is dropped.

    Raises:
        InputError: the page holds no text at all ("empty document").
    """
    preamble, questions = _cut_at_questions(page.lines)
    if page.question or not questions:
        return [_whole(page)]
    docs: list[Document] = []
    if _body_words(preamble) >= MIN_PREAMBLE_WORDS:
        docs.append(_document(page, page.doc_id, "", render(preamble)))
    taken: set[str] = set()
    for article in questions:
        text = render(article.lines)
        if text:
            doc_id = f"{page.doc_id}#{unique_slug(article.question, taken)}"
            docs.append(_document(page, doc_id, article.question, text))
    if not docs:
        return [_whole(page)]
    if len(docs) == 1:
        # One article per file keeps the plain file id: the suffix only tells siblings apart.
        docs[0].doc_id = page.doc_id
    return docs


def _cut_at_questions(lines: list[Line]) -> tuple[list[Line], list[_Article]]:
    preamble: list[Line] = []
    questions: list[_Article] = []
    for line in lines:
        if line.question:
            questions.append(_Article(line.text, []))
        elif questions:
            questions[-1].lines.append(line)
        else:
            preamble.append(line)
    return preamble, questions


def _body_words(lines: list[Line]) -> int:
    return sum(len(line.text.split()) for line in lines if not line.level)


def _whole(page: Page) -> Document:
    text = render(page.lines)
    if not text:
        raise InputError(f"{page.source}: empty document")
    return _document(page, page.doc_id, page.question, text)


def _document(page: Page, doc_id: str, question: str, text: str) -> Document:
    return Document(
        doc_id=doc_id,
        text=text,
        source=page.source,
        title=page.title,
        question=question,
        metadata=copy.deepcopy(page.metadata),
    )
