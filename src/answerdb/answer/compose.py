"""The extractive, cited answer: the sentences of the top passages that best answer.

Every sentence of the answer is copied from a passage and ends with that passage's ``[n]``,
so a reader can check each claim against its source.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from answerdb.embed import Embedder
from answerdb.text import split_sentences
from answerdb.types import Citation, Hit, Vectors


@dataclass(frozen=True)
class ComposeSettings:
    """How much of the top passages goes into an answer."""

    passages: int = 3
    max_sentences: int = 3
    max_words: int = 90
    # Sentences this similar to one already chosen add nothing new.
    redundancy: float = 0.9
    # The first sentence of the best article usually answers its question directly.
    lead_bonus: float = 0.08
    rank_penalty: float = 0.04


@dataclass(frozen=True)
class _Candidate:
    text: str
    passage: int
    position: int
    # Reading order: the rank of the passage's document, then where the sentence stands in it.
    order: tuple[int, int, int]


def compose(
    question: str | Vectors,
    hits: list[Hit],
    embedder: Embedder,
    settings: ComposeSettings | None = None,
) -> tuple[str, list[Citation]]:
    """The answer text (sentences with ``[n]`` marks) and the citations it uses.

    ``question`` is the question's text, or its vector when the caller has embedded it already.
    """
    settings = settings or ComposeSettings()
    sources = hits[: settings.passages]
    candidates = _candidates(sources)
    if not candidates:
        return "", []
    chosen = _choose(question, candidates, embedder, settings)
    return _render(chosen, sources)


def _candidates(sources: list[Hit]) -> list[_Candidate]:
    found: list[_Candidate] = []
    doc_rank = {doc: rank for rank, doc in enumerate(dict.fromkeys(h.doc_id for h in sources))}
    for index, hit in enumerate(sources):
        for position, sentence in enumerate(split_sentences(hit.text)):
            # A heading line repeated at the start of a passage is not an answer.
            if sentence.strip() == hit.heading.strip() or len(sentence.split()) < 4:
                continue
            order = (doc_rank[hit.doc_id], hit.ordinal, position)
            found.append(_Candidate(sentence, index, position, order))
    return found


def _choose(
    question: str | Vectors,
    candidates: list[_Candidate],
    embedder: Embedder,
    settings: ComposeSettings,
) -> list[_Candidate]:
    vectors = embedder.embed([c.text for c in candidates])
    query = embedder.embed_query(question) if isinstance(question, str) else question
    relevance = vectors @ query
    for i, c in enumerate(candidates):
        relevance[i] -= settings.rank_penalty * c.order[0]
        if c.order == (0, 0, 0):
            relevance[i] += settings.lead_bonus
    picked: list[int] = []
    words = 0
    for i in np.argsort(-relevance):
        too_close = any(float(vectors[i] @ vectors[j]) > settings.redundancy for j in picked)
        size = len(candidates[i].text.split())
        if too_close or (picked and words + size > settings.max_words):
            continue
        picked.append(int(i))
        words += size
        if len(picked) == settings.max_sentences:
            break
    return sorted((candidates[i] for i in picked), key=lambda c: c.order)


def _render(chosen: list[_Candidate], sources: list[Hit]) -> tuple[str, list[Citation]]:
    numbers: dict[int, int] = {}
    parts: list[str] = []
    for c in chosen:
        number = numbers.setdefault(c.passage, len(numbers) + 1)
        parts.append(f"{c.text.rstrip()} [{number}]")
    citations = [Citation(number=n, hit=sources[p]) for p, n in numbers.items()]
    return " ".join(parts), citations
