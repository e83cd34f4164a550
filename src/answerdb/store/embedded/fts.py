"""Keyword queries for SQLite FTS5: plain text in, a safe MATCH expression out."""

from __future__ import annotations

import re

# Words that carry no topic: BM25 would still score them, and OR-queries would match everything.
STOP_WORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "all",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "him",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "me",
        "more",
        "most",
        "my",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
    ]
)
_WORD = re.compile(r"\w+", re.UNICODE)
# Words joined by a dot, a colon or two, or a hyphen: code names and technical terms.
_COMPOUND = re.compile(r"\w+(?:(?:\.|::?|-)\w+)+", re.UNICODE)
TOKENIZER = "porter unicode61 remove_diacritics 2"


def match_expression(query: str) -> str:
    """An OR of the query's compound phrases and its quoted terms.

    Stop words are dropped unless nothing else is left. A compound such as ``os.path``,
    ``std::vector`` or ``IL-6`` is FTS5-split into words, so it also goes in as a phrase: a
    passage with the words side by side then outscores one that merely has both somewhere.
    """
    words = [w.lower() for w in _WORD.findall(query)]
    terms = [w for w in words if w not in STOP_WORDS] or words
    unique = list(dict.fromkeys([*compound_parts(query), *terms]))
    return " OR ".join(f'"{term}"' for term in unique)


def compound_parts(text: str) -> list[str]:
    """Each compound token's words, space-joined; one-letter abbreviations such as e.g. are not."""
    found = []
    for token in _COMPOUND.findall(text.lower()):
        parts = _WORD.findall(token)
        if any(len(part) > 1 for part in parts):
            found.append(" ".join(parts))
    return found
