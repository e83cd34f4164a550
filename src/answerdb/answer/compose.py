"""The extractive, cited answer: the sentences of the best article that answer the question.

Every sentence of the answer is copied from a passage and ends with that passage's ``[n]``,
so a reader can check each claim against its source. The answer comes from the best article;
another article adds a sentence only when that sentence answers better than any of the best
article's. Sentences are scored without a transformer: by meaning, with a static embedding
model (microseconds a sentence), and by the question's words they hold, rare ones counting
more; docs/quality.md ("Answers") gives the measurements behind the weights.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from answerdb.embed import Embedder
from answerdb.text import content_terms, split_sentences
from answerdb.types import Citation, Hit

Scores = npt.NDArray[np.float64]
# A fenced code block, as the splitter joins it into a passage's line (or cut off at its end).
_CODE = re.compile(r"(`{3,}|~{3,}).*?(?:\1|$)", re.DOTALL)
# A run of table cells: three pipes or more, from white space to white space.
_TABLE = re.compile(r"(?:^|(?<=\s))\|(?:[^|\n]*\|){2,}(?=\s|$)", re.MULTILINE)
# A list item's or a quote's marker starts a sentence but says nothing.
_MARKER = re.compile(r"^(?:[-*+>]|\d{1,3}[.)])\s+")


@dataclass(frozen=True)
class ComposeSettings:
    """How an answer is chosen (tuned on SciFact's train rationales and faq-python)."""

    max_sentences: int = 4
    # Past this many words a further sentence is left out (the first always stays).
    max_words: int = 220
    # A further sentence of the best article must score this share of its best sentence.
    keep_share: float = 0.6
    # Another article's best sentence joins only when it outscores the best article's by this.
    other_margin: float = 0.05
    # A sentence's score: its meaning's cosine to the question, the share of the question's
    # words it holds, and that share weighted by how rare each word is among the hits.
    meaning: float = 0.5
    words: float = 0.5
    rare_words: float = 0.5
    # Sentences this similar to one already chosen add nothing new.
    redundancy: float = 0.95


# The passages of the article a hit belongs to, in order (the hit's own, when unknown).
Passages = Callable[[Hit], list[Hit]]


@dataclass(frozen=True)
class _Candidate:
    text: str
    passage: Hit
    article: int
    # Reading order: the article's rank, then where the sentence stands in it.
    order: tuple[int, int, int]


def compose(
    question: str,
    hits: list[Hit],
    sentences: Embedder,
    passages: Passages | None = None,
    settings: ComposeSettings | None = None,
) -> tuple[str, list[Citation]]:
    """The answer text (sentences with ``[n]`` marks) and the citations it uses.

    ``sentences`` is the model that scores meaning (a static one: it runs once per sentence
    per question); ``passages`` gives a hit's whole article, whose every sentence may answer.
    """
    settings = settings or ComposeSettings()
    candidates = _candidates(hits, passages or (lambda hit: [hit]))
    if not candidates:
        return "", []
    vectors = sentences.embed([c.text for c in candidates])
    scores = _scores(question, candidates, vectors, sentences, hits, settings)
    asked = set(content_terms(question))
    return _render(_choose(candidates, scores, vectors, asked, settings))


def _candidates(hits: list[Hit], passages: Passages) -> list[_Candidate]:
    """The sentences of the two best articles, each once, in reading order."""
    leads: dict[str, Hit] = {}
    for hit in hits:
        leads.setdefault(hit.doc_id, hit)  # each article's best hit, articles in rank order
    found: list[_Candidate] = []
    for rank, lead in enumerate(list(leads.values())[:2]):
        seen: set[str] = set()
        for passage in passages(lead):
            for position, sentence in enumerate(_prose(passage.text)):
                # A heading repeated atop a passage, or a fragment, answers nothing; passages
                # overlap by a sentence, which is offered once.
                if _fragment(sentence, passage.heading) or sentence in seen:
                    continue
                seen.add(sentence)
                order = (rank, passage.ordinal, position)
                found.append(_Candidate(sentence, passage, rank, order))
    return found


@lru_cache(maxsize=20_000)
def _prose(text: str) -> tuple[str, ...]:
    """A passage's sentences outside its code blocks and tables, without list markers (kept:
    answers read the same passages question after question)."""
    text = _TABLE.sub("\n", _CODE.sub("\n", text))
    return tuple(_MARKER.sub("", sentence) for sentence in split_sentences(text))


def _fragment(sentence: str, heading: str) -> bool:
    return sentence.strip() == heading.strip() or len(sentence.split()) < 4


def _scores(
    question: str,
    candidates: list[_Candidate],
    vectors: npt.NDArray[np.float32],
    model: Embedder,
    hits: list[Hit],
    settings: ComposeSettings,
) -> Scores:
    meaning = vectors @ model.embed_query(question)
    asked = set(content_terms(question))
    rarity = _rarity(hits)
    weight = sum(rarity(t) for t in asked) or 1.0
    words = np.zeros(len(candidates))
    rare = np.zeros(len(candidates))
    for i, candidate in enumerate(candidates):
        held = asked.intersection(content_terms(candidate.text))
        words[i] = len(held) / max(len(asked), 1)
        rare[i] = sum(rarity(t) for t in held) / weight
    scores: Scores = settings.meaning * meaning + settings.words * words
    return scores + settings.rare_words * rare


def _rarity(hits: list[Hit]) -> _Rarity:
    """Inverse document frequency of a term among the hits' sentences."""
    pool = [set(content_terms(s)) for hit in hits for s in split_sentences(hit.text)]
    counts = Counter(term for terms in pool for term in terms)
    return _Rarity(counts, len(pool))


@dataclass(frozen=True)
class _Rarity:
    counts: Counter[str]
    total: int

    def __call__(self, term: str) -> float:
        return math.log((self.total + 2) / (self.counts.get(term, 0) + 0.5))


def _choose(
    candidates: list[_Candidate],
    scores: Scores,
    vectors: npt.NDArray[np.float32],
    asked: set[str],
    settings: ComposeSettings,
) -> list[_Candidate]:
    first = [i for i, c in enumerate(candidates) if c.article == 0] or list(range(len(candidates)))
    ranked = sorted(first, key=lambda i: -scores[i])
    best = float(scores[ranked[0]])
    picked = [ranked[0]]
    words = len(candidates[ranked[0]].text.split())
    for i in ranked[1:]:
        if len(picked) == settings.max_sentences or scores[i] < settings.keep_share * best:
            break
        size = len(candidates[i].text.split())
        fits = words + size <= settings.max_words
        if fits and max(float(vectors[i] @ vectors[j]) for j in picked) <= settings.redundancy:
            picked.append(i)
            words += size
    others = [i for i, c in enumerate(candidates) if c.article != candidates[ranked[0]].article]
    if others:
        extra = max(others, key=lambda i: scores[i])
        covered = {t for j in picked for t in content_terms(candidates[j].text)}
        adds = asked.intersection(content_terms(candidates[extra].text)) - covered
        # Another article speaks only to what the best one left unsaid of the question.
        if scores[extra] >= best + settings.other_margin and adds:
            picked.append(extra)
    return sorted((candidates[i] for i in picked), key=lambda c: c.order)


def _render(chosen: list[_Candidate]) -> tuple[str, list[Citation]]:
    numbers: dict[int, int] = {}
    cited: list[Citation] = []
    parts: list[str] = []
    for c in chosen:
        number = numbers.get(id(c.passage))
        if number is None:
            number = numbers[id(c.passage)] = len(numbers) + 1
            cited.append(Citation(number=number, hit=c.passage))
        parts.append(f"{c.text.rstrip()} [{number}]")
    return " ".join(parts), cited
