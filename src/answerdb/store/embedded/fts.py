"""Keyword queries for SQLite FTS5: plain text in, a safe MATCH expression out."""

from __future__ import annotations

from answerdb.store.analysis import STOP_WORDS, WORD, compound_parts

TOKENIZER = "porter unicode61 remove_diacritics 2"


def match_expression(query: str) -> str:
    """An OR of the query's compound phrases and its quoted terms ("" when none).

    Stop words are dropped: a query of nothing else (``the``, or FTS5's ``AND``) matches
    nothing, rather than nearly every passage with a BM25 score of about 0. A compound such as
    ``os.path``, ``std::vector`` or ``IL-6`` is FTS5-split into words, so it also goes in as a
    phrase: a passage with the words side by side then outscores one that merely has both.
    """
    words = [w.lower() for w in WORD.findall(query)]
    terms = [w for w in words if w not in STOP_WORDS]
    unique = list(dict.fromkeys([*compound_parts(query), *terms]))
    return " OR ".join(f'"{term}"' for term in unique)
