"""Keyword terms for Milvus full-text search, analysed here rather than by Milvus.

Milvus Lite's analyser knows only the ``standard`` tokenizer and ignores stemming and stop-word
filters, so passages and queries are lower-cased, stripped of diacritics and Porter-stemmed
here (as the embedded store's FTS5 ``porter unicode61`` tokenizer does), and Milvus sees
space-separated terms. The same text then scores alike on Milvus Lite and a Milvus server.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import Stemmer

from answerdb.store.fts import STOP_WORDS

_WORD = re.compile(r"\w+", re.UNICODE)
# Milvus VARCHAR fields hold at most this many bytes.
MAX_BYTES = 65_535


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("porter")


def _words(text: str) -> list[str]:
    plain = unicodedata.normalize("NFKD", text.lower())
    plain = "".join(ch for ch in plain if not unicodedata.combining(ch))
    return _WORD.findall(plain)


def passage_terms(heading: str, text: str) -> str:
    """The indexed terms of a passage; the heading counts twice, as its BM25 weight does."""
    words = _words(heading) * 2 + _words(text)
    terms = " ".join(_stemmer().stemWords(words))
    if len(terms.encode()) <= MAX_BYTES:
        return terms
    # Beyond the field's size the tail is not keyword-searchable (the passage stays whole).
    return terms.encode()[:MAX_BYTES].decode(errors="ignore").rsplit(" ", 1)[0]


def query_terms(query: str) -> str:
    """The query's distinct stemmed terms, stop words dropped unless nothing else is left."""
    words = _words(query)
    kept = [w for w in words if w not in STOP_WORDS] or words
    return " ".join(dict.fromkeys(_stemmer().stemWords(kept)))
