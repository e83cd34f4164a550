"""Keyword terms for Milvus full-text search, analysed here rather than by Milvus.

Milvus Lite's analyser knows only the ``standard`` tokenizer and ignores stemming and stop-word
filters, so passages and queries are lower-cased, stripped of diacritics and Porter-stemmed
here (as the embedded store's FTS5 ``porter unicode61`` tokenizer does), and Milvus sees
space-separated terms. The same text then scores alike on Milvus Lite and a Milvus server.
"""

from __future__ import annotations

import itertools
import unicodedata
from functools import lru_cache

import Stemmer

from answerdb.store.analysis import STOP_WORDS, WORD, compound_parts

# Milvus VARCHAR fields hold at most this many bytes.
MAX_BYTES = 65_535


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("porter")


def _plain(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in plain if not unicodedata.combining(ch))


def _words(text: str) -> list[str]:
    return WORD.findall(_plain(text))


def _pairs(text: str) -> list[str]:
    """Neighbouring words of each compound, stemmed and joined (os.path: ospath).

    Milvus has no phrase queries; this term does what the phrase does in FTS5.
    """
    pairs = []
    for compound in compound_parts(_plain(text)):
        stems = _stemmer().stemWords(compound.split())
        pairs += [a + b for a, b in itertools.pairwise(stems)]
    return pairs


def passage_terms(heading: str, text: str) -> str:
    """The indexed terms of a passage and its compounds; the heading counts twice, as in FTS5."""
    words = _words(heading) * 2 + _words(text)
    terms = " ".join([*_stemmer().stemWords(words), *_pairs(heading) * 2, *_pairs(text)])
    if len(terms.encode()) <= MAX_BYTES:
        return terms
    # Beyond the field's size the tail is not keyword-searchable (the passage stays whole).
    return terms.encode()[:MAX_BYTES].decode(errors="ignore").rsplit(" ", 1)[0]


def query_terms(query: str) -> str:
    """The query's distinct stemmed terms, stop words dropped ("" when nothing else is left:
    such a query matches nothing, as in FTS5)."""
    words = _words(query)
    kept = [w for w in words if w not in STOP_WORDS]
    return " ".join(dict.fromkeys([*_pairs(query), *_stemmer().stemWords(kept)]))
