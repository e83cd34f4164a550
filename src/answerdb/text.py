"""Text rules shared by every layer: sentences, slugs and citation marks."""

from __future__ import annotations

import re
from functools import lru_cache

import Stemmer

from answerdb.errors import InputError
from answerdb.store.analysis import STOP_WORDS

# ``[n]`` in an answer: the n-th citation (answers cite at most a few hundred passages).
CITATION = re.compile(r"\[(\d{1,3})\]")
_WORD = re.compile(r"\w+")
# Slugs are parts of doc ids and URLs: long enough to read, short enough to type.
SLUG_MAX = 80
# A candidate boundary: end punctuation, closing quotes or brackets, then white space.
# Never one followed by an ASCII lower-case letter or by nothing: those end no sentence.
_BOUNDARY = re.compile(r"[.!?]+[\"'\u201d\u2019)\]]*\s+(?=[^a-z\s])")
_ABBREVIATIONS = frozenset(
    [
        "e.g.", "i.e.", "cf.", "vs.", "dr.", "mr.", "mrs.", "ms.", "prof.", "sr.", "jr.", "st.",
        "mt.", "no.", "nos.", "fig.", "figs.", "eq.", "vol.", "ch.", "sec.", "pp.", "approx.",
        "est.", "dept.", "inc.", "ltd.", "co.", "corp.", "al.", "jan.", "feb.", "mar.", "apr.",
        "jun.", "jul.", "aug.", "sep.", "sept.", "oct.", "nov.", "dec.",
    ]
)  # fmt: skip
# Initials ("J."), dotted abbreviations ("U.S.", "a.m.") and list numbers ("3.") end no sentence.
_NO_END = re.compile(r"^(?:[A-Za-z]|(?:[A-Za-z]\.)+[A-Za-z]|\d{1,2})\.$")


def split_sentences(text: str) -> list[str]:
    """The sentences of ``text``, whitespace normalised; every line end is a boundary."""
    return list(_sentences(text))


@lru_cache(maxsize=20_000)
def _sentences(text: str) -> tuple[str, ...]:
    # Kept: answers split the same passages question after question.
    return tuple(s for line in text.split("\n") for s in line_sentences(" ".join(line.split())))


def line_sentences(line: str) -> list[str]:
    """The sentences of one whitespace-normalised line (single spaces, no ends)."""
    sentences: list[str] = []
    start = 0
    for match in _BOUNDARY.finditer(line):
        end = match.end()
        if _ends_sentence(line, start, match.start(), end):
            sentences.append(line[start:end].rstrip())
            start = end
    if start < len(line):
        sentences.append(line[start:])
    return sentences


def _ends_sentence(line: str, start: int, punct: int, end: int) -> bool:
    """Whether the boundary candidate ``line[punct:end]`` ends the sentence begun at ``start``
    (the pattern already passed over those followed by an ASCII lower-case letter)."""
    if line[end].islower():
        return False
    mark = line[punct]
    if mark != "." or "?" in line[punct:end] or "!" in line[punct:end]:
        return True
    # The last word, found without copying the sentence: the line has single spaces.
    word = line[max(line.rfind(" ", start, punct) + 1, start) : end].rstrip()
    word = word.strip("()[]\"'\u201c\u201d\u2018\u2019")
    return word.lower() not in _ABBREVIATIONS and not _NO_END.match(word)


def slugify(text: str) -> str:
    """A lower-case, dash-separated form of ``text`` for a doc id or an address."""
    slug = re.sub(r"[\W_]+", "-", text.lower()).strip("-")
    return slug[:SLUG_MAX].rstrip("-")


def check_text(what: str, text: str) -> None:
    """InputError for text no model or index can take: lone surrogates (JSON's "\\ud800")
    and NULs; and what is not text at all."""
    if not isinstance(text, str):
        raise InputError(f"{what} must be text, not {type(text).__name__}")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InputError(f"{what} is not valid Unicode text (at character {exc.start})") from None
    if "\x00" in text:
        raise InputError(f"{what} holds a NUL character")


@lru_cache(maxsize=50_000)
def content_terms(text: str) -> tuple[str, ...]:
    """The words of ``text`` that carry meaning, stemmed as the keyword index stems them (kept:
    the same sentences come back question after question)."""
    stem = _stemmer().stemWord
    words = _WORD.findall(text.lower())
    return tuple(stem(w) for w in words if len(w) > 1 and w not in STOP_WORDS)


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("porter")
