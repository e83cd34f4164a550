"""Split a Document's text into passages small enough to embed, along its own seams.

A heading line (``#`` to ``######``, as every reader writes them) starts a new passage and
stays at its top; within a section, passages end at sentence boundaries, and each one after
the first starts with the last sentence(s) of the one before, so that no sentence loses its
context. A line end is always a sentence boundary: readers write one line per paragraph.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from answerdb.errors import InputError
from answerdb.text import line_sentences
from answerdb.types import Document

_HEADING = re.compile(r"^#{1,6}[ \t]+(\S.*?)[ \t]*$")


def split_passages(doc: Document, max_words: int = 200, overlap_sentences: int = 1) -> list[str]:
    """The passages of ``doc.text``, in order; ``[]`` when the text is blank.

    Args:
        doc: the document to split.
        max_words: most words in a passage's body (its heading lines come on top); a
            sentence longer than this is cut into pieces of this many words.
        overlap_sentences: how many sentences at the end of a passage start the next one
            in the same section; 0 for none.

    Raises:
        InputError: ``max_words`` below 1 or ``overlap_sentences`` below 0.
    """
    if max_words < 1 or overlap_sentences < 0:
        raise InputError(
            f"max_words must be at least 1 and overlap_sentences at least 0, "
            f"not {max_words} and {overlap_sentences}"
        )
    words = doc.text.split()
    if len(words) <= max_words and not _has_heading(doc.text):
        # One passage whatever its sentences: most short articles need no sentence search.
        return [" ".join(words)] if words else []
    passages: list[str] = []
    for section in _sections(doc.text):
        passages.extend(section.pack(max_words, overlap_sentences))
    return passages


def _has_heading(text: str) -> bool:
    return "#" in text and any(_HEADING.match(line) for line in text.split("\n"))


@dataclass
class _Section:
    """Heading lines and the sentences under them, up to the next heading."""

    headings: list[str] = field(default_factory=list)
    sentences: list[str] = field(default_factory=list)

    def pack(self, max_words: int, overlap: int) -> Iterator[str]:
        """Passages of at most ``max_words`` body words; the headings lead the first."""
        pieces = [piece for s in self.sentences for piece in _cut(s, max_words)]
        head = list(self.headings)
        current: list[str] = []
        # Words in ``current``, kept as it grows: counting them again per piece is quadratic.
        count = 0
        for piece in pieces:
            size = _count(piece)
            if current and count + size > max_words:
                yield _render(head, current)
                head = []
                current = _overlap(current, overlap, max_words - size)
                count = _words(current)
            current.append(piece)
            count += size
        if current or head:
            yield _render(head, current)


def _sections(text: str) -> Iterator[_Section]:
    section = _Section()
    for line in text.split("\n"):
        if heading := _HEADING.match(line):
            if section.sentences:
                yield section
                section = _Section()
            section.headings.append(" ".join(heading.group(1).split()))
        else:
            section.sentences.extend(line_sentences(" ".join(line.split())))
    if section.headings or section.sentences:
        yield section


def _cut(sentence: str, max_words: int) -> list[str]:
    if _count(sentence) <= max_words:
        return [sentence]
    words = sentence.split(" ")
    return [" ".join(words[i : i + max_words]) for i in range(0, len(words), max_words)]


def _count(sentence: str) -> int:
    # Sentences are cut from whitespace-normalised lines: words are single-space separated.
    return sentence.count(" ") + 1


def _overlap(previous: list[str], count: int, room: int) -> list[str]:
    # Keep as many of the last ``count`` sentences as fit beside the next one.
    kept = previous[len(previous) - count :] if count else []
    while kept and _words(kept) > room:
        kept = kept[1:]
    return kept


def _words(sentences: list[str]) -> int:
    return sum(_count(s) for s in sentences)


def _render(headings: list[str], sentences: list[str]) -> str:
    body = " ".join(sentences)
    return "\n".join([*headings, body] if body else headings)
