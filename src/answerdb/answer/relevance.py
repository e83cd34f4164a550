"""Whether a knowledge base holds an answer: the cosine of the passage nearest to the question
against a floor measured per embedding model, and, a little below the floor, the question's
own words in the best article.

The floors were set from the cosines of questions a knowledge base can answer and of questions
from other domains (docs/quality.md, "No answer"): with MiniLM, 99% of faq-python's test
questions reach 0.35 while SciFact claims and everyday questions asked of the FAQ, and
everyday questions asked of the demo, stay below it. Jargon sinks some answerable questions
lower (a shell FAQ's): down to half the floor, one whose best article holds at least half of
its words is answered too.
"""

from __future__ import annotations

from collections.abc import Callable

from answerdb.embed import DEFAULT_MODEL, STATIC_MODEL
from answerdb.text import content_terms

FLOORS = {DEFAULT_MODEL: 0.35, STATIC_MODEL: 0.55}
# A model without a measured floor answers whatever it finds.
UNMEASURED = 0.0


# Between half the floor and the floor, the share of the question's words the article must hold.
WORDS_HELD = 0.5


def relevance_floor(model: str) -> float:
    """The cosine below which the knowledge base says it has no good answer."""
    return FLOORS.get(model, UNMEASURED)


def answerable(question: str, closeness: float, floor: float, article: Callable[[], str]) -> bool:
    """Whether to answer: ``closeness`` (the nearest passage's cosine) reaches ``floor``, or
    half of it while the best article (``article()``, read only then) holds enough of the
    question's words."""
    if closeness >= floor:
        return True
    if closeness < floor / 2:
        return False
    asked = set(content_terms(question))
    held = asked.intersection(content_terms(article()))
    return bool(asked) and len(held) >= WORDS_HELD * len(asked)
