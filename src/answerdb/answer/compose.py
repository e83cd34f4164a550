"""The extractive, cited answer: the sentences of the best article that answer the question.

Every sentence of the answer is copied from a passage and ends with that passage's ``[n]``,
so a reader can check each claim against its source. The answer comes from the best article;
another article adds a sentence only when it was retrieved nearly as well and that sentence
answers better than any of the best article's. Sentences are scored without a transformer: by
meaning, with a static embedding model (microseconds a sentence), by the question's words they
hold, rare ones counting more, and a little by how late they stand in their article;
docs/quality.md ("Answers") gives the measurements behind the weights.
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
from answerdb.embed.kept import KeptVectors, kept_vectors
from answerdb.text import content_terms, split_sentences
from answerdb.types import Citation, Hit

Scores = npt.NDArray[np.float64]
# A fenced code block, as the splitter joins it into a passage's line (or cut off at its end).
_CODE = re.compile(r"(`{3,}|~{3,}).*?(?:\1|$)", re.DOTALL)
# A run of table cells: three pipes or more, from white space to white space.
_TABLE = re.compile(r"(?:^|(?<=\s))\|(?:[^|\n]*\|){2,}(?=\s|$)", re.MULTILINE)
# A list item's or a quote's marker starts a sentence but says nothing.
_MARKER = re.compile(r"^(?:[-*+>]|\d{1,3}[.)])\s+")
# A bracketed number standing alone ("[10]", a printed list) reads as a citation mark.
_MARK = re.compile(r"\[\d{1,3}\](?=\s|$)")


@dataclass(frozen=True)
class ComposeSettings:
    """How an answer is chosen (tuned on SciFact's train rationales and faq-python)."""

    max_sentences: int = 4
    # Past this many words a further sentence is left out (the first always stays).
    max_words: int = 220
    # A further sentence of the best article must score this share of its best sentence.
    keep_share: float = 0.65
    # Another article's best sentence joins only when it outscores the best article's by this,
    other_margin: float = 0.05
    # and only when that article's best hit stands this close to the first's, on the scale
    # from the last hit's score (0) to the first's (1): a far second is a different topic.
    other_closeness: float = 0.75
    # A sentence's score: its meaning's cosine to the question, the share of the question's
    # words it holds, and that share weighted by how rare each word is among the hits.
    meaning: float = 0.5
    words: float = 0.5
    rare_words: float = 0.5
    # A sentence gains up to this by where it stands in its article, 0 at the first and the
    # whole at the last: a study's abstract states its findings after its background.
    position: float = 0.2
    # ...in full from this many sentences on; a shorter article (an FAQ's answer, which
    # leads with it) gets a share of it in proportion.
    position_sentences: int = 7
    # Sentences this similar to one already chosen add nothing new.
    redundancy: float = 0.95


# The passages of the article a hit belongs to, in order (the hit's own, when unknown).
Passages = Callable[[Hit], list[Hit]]


@dataclass(slots=True)  # made by the hundred per question: a plain class is quicker
class _Candidate:
    text: str
    passage: Hit
    article: int
    # Reading order: the article's rank, then where the sentence stands in it.
    order: tuple[int, int, int]
    # Where it stands among its article's sentences: 0 the first, 1 the last.
    place: float = 0.0


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
    vectors = _sentence_vectors(sentences, [c.text for c in candidates])
    scores = _scores(question, candidates, vectors, sentences, hits, settings)
    asked = set(content_terms(question))
    chosen = _choose(candidates, scores, vectors, asked, _closeness(hits), settings)
    return _render(chosen)


def _leads(hits: list[Hit]) -> list[Hit]:
    """Each article's best hit, articles in rank order."""
    leads: dict[str, Hit] = {}
    for hit in hits:
        leads.setdefault(hit.doc_id, hit)
    return list(leads.values())


def _closeness(hits: list[Hit]) -> float:
    """How near the second article's best hit scores to the first's: 1 level, 0 as low as
    the last hit (scores of any retriever: only their order and spacing count)."""
    leads = _leads(hits)
    if len(leads) < 2:
        return 0.0
    low = hits[-1].score
    span = leads[0].score - low
    return 1.0 if span <= 0 else (leads[1].score - low) / span


def _candidates(hits: list[Hit], passages: Passages) -> list[_Candidate]:
    """The sentences of the two best articles, each once, in reading order."""
    found: list[_Candidate] = []
    for rank, lead in enumerate(_leads(hits)[:2]):
        found.extend(_article_sentences(rank, passages(lead)))
    return found


def _article_sentences(rank: int, passages: list[Hit]) -> list[_Candidate]:
    """An article's sentences that may answer, each with its place in the article."""
    found: list[_Candidate] = []
    short: list[_Candidate] = []
    seen: set[str] = set()
    for passage in passages:
        for position, sentence in enumerate(_prose(passage.text)):
            # A heading repeated atop a passage answers nothing; passages overlap by a
            # sentence, which is offered once; a number in brackets would pass for a citation.
            if _heading(sentence, passage.heading) or sentence in seen or _MARK.search(sentence):
                continue
            seen.add(sentence)
            candidate = _Candidate(sentence, passage, rank, (rank, passage.ordinal, position))
            # A fragment says little, unless the article says nothing longer.
            (short if len(sentence.split()) < 4 else found).append(candidate)
    kept = found or short
    last = max(len(kept) - 1, 1)
    for i, candidate in enumerate(kept):
        candidate.place = i / last
    return kept


def _placed(candidates: list[_Candidate], settings: ComposeSettings) -> Scores:
    """Each sentence's place, weighted by how long its article is (see ComposeSettings)."""
    counts = Counter(c.article for c in candidates)
    full = max(settings.position_sentences - 1, 1)
    return np.array([c.place * min(1.0, (counts[c.article] - 1) / full) for c in candidates])


@lru_cache(maxsize=20_000)
def _prose(text: str) -> tuple[str, ...]:
    """A passage's sentences outside its code blocks and tables, without list markers (kept:
    answers read the same passages question after question)."""
    text = _TABLE.sub("\n", _CODE.sub("\n", text))
    return tuple(_MARKER.sub("", sentence) for sentence in split_sentences(text))


def _heading(sentence: str, heading: str) -> bool:
    return sentence.strip() == heading.strip()


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
    place = _placed(candidates, settings)
    scores: Scores = settings.meaning * meaning + settings.words * words
    return scores + settings.rare_words * rare + settings.position * place


# Sentence vectors kept between questions, per model (1 KB each): the same articles answer
# question after question.
SENTENCES_KEPT = 20_000
_VECTORS: KeptVectors = {}


def _sentence_vectors(model: Embedder, texts: list[str]) -> npt.NDArray[np.float32]:
    found = kept_vectors(_VECTORS, model, texts, SENTENCES_KEPT)
    return np.stack([found[t] for t in texts])


def _rarity(hits: list[Hit]) -> _Rarity:
    """Inverse document frequency of a term among the hits' sentences."""
    counts: Counter[str] = Counter()
    total = 0
    for hit in hits:
        for terms in _sentence_terms(hit.text):
            counts.update(terms)
            total += 1
    return _Rarity(counts, total)


@lru_cache(maxsize=20_000)
def _sentence_terms(text: str) -> tuple[frozenset[str], ...]:
    """Each sentence's content terms, once each (kept: passages come back as hits)."""
    return tuple(frozenset(content_terms(s)) for s in split_sentences(text))


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
    closeness: float,
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
    if others and closeness >= settings.other_closeness:
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
