"""Split a Document's text into passages small enough to embed, along its own seams.

A heading line (``#`` to ``######``, as every reader writes them) starts a new passage and
stays at its top; within a section, passages end at sentence boundaries, and each one after
the first starts with the last sentence(s) of the one before, so that no sentence loses its
context. A line end is always a sentence boundary: readers write one line per paragraph.
A fenced code block or a table (lines starting with ``|``) is kept whole where it fits in a
passage, and otherwise cut between its lines; a ``#`` line inside a code block is code.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from answerdb.errors import InputError
from answerdb.text import line_sentences
from answerdb.types import Document

_HEADING = re.compile(r"^#{1,6}[ \t]+(\S.*?)[ \t]*$")
# A code fence may sit in a list item or a quote.
_FENCE = re.compile(r"^[ \t>]*(`{3,}|~{3,})")


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
    for section in _sections(doc.text, max_words):
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


def _sections(text: str, max_words: int = 200) -> Iterator[_Section]:
    section = _Section()
    for block in _blocks(text.split("\n")):
        if len(block) > 1:
            section.sentences.extend(_whole(block, max_words))
        elif heading := _HEADING.match(block[0]):
            if section.sentences:
                yield section
                section = _Section()
            section.headings.append(" ".join(heading.group(1).split()))
        else:
            section.sentences.extend(line_sentences(" ".join(block[0].split())))
    if section.headings or section.sentences:
        yield section


def _blocks(lines: list[str]) -> Iterator[list[str]]:
    """The lines in groups: a fenced code block or a table is one, any other line its own."""
    start = 0
    while start < len(lines):
        end = _fence_end(lines, start) or _table_end(lines, start) or start + 1
        yield lines[start:end]
        start = end


def _fence_end(lines: list[str], start: int) -> int:
    opening = _FENCE.match(lines[start])
    if not opening:
        return 0
    mark = opening.group(1)
    for end in range(start + 1, len(lines)):
        closing = _FENCE.match(lines[end])
        if (
            closing
            and closing.group(1).startswith(mark)
            and not lines[end][closing.end() :].strip()
        ):
            return end + 1
    return len(lines)  # unclosed: the code runs to the end, as Markdown reads it


def _bare(line: str, end: int) -> bool:
    return not line[end:].strip()


def _table_end(lines: list[str], start: int) -> int:
    end = start
    while end < len(lines) and lines[end].lstrip().startswith("|"):
        end += 1
    return end if end - start > 1 else 0


def _whole(block: list[str], max_words: int) -> list[str]:
    """A code block or table as one piece, or as pieces cut between its lines when too long;
    each piece of a code block is fenced, so that no passage holds half a fence."""
    fence = _FENCE.match(block[0])
    if not fence:
        return [" ".join(group) for group in _groups(block, max_words)]
    mark = fence.group(1)
    closed = len(block) > 1 and _FENCE.match(block[-1]) is not None
    # Room for the two fence marks each piece carries.
    groups = _groups(block[1:-1] if closed else block[1:], max(1, max_words - 2))
    starts = [block[0], *[mark] * (len(groups) - 1)]
    ends = [*[mark] * (len(groups) - 1), block[-1] if closed else ""]
    pieces = zip(starts, groups, ends, strict=True)
    return [" ".join(" ".join([start, *group, end]).split()) for start, group, end in pieces]


def _groups(lines: list[str], max_words: int) -> list[list[str]]:
    """Consecutive non-blank lines, whitespace normalised, about ``max_words`` words a group."""
    groups: list[list[str]] = [[]]
    for line in (" ".join(line.split()) for line in lines if line.strip()):
        if groups[-1] and _words(groups[-1]) + _count(line) > max_words:
            groups.append([])
        groups[-1].append(line)
    return groups


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
