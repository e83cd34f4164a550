"""Whether a knowledge base holds an answer: the cosine of the passage nearest to the question,
against a floor measured per embedding model.

The floors were set from the cosines of questions a knowledge base can answer and of questions
from other domains (docs/quality.md, "No answer"): with MiniLM, 99% of faq-python's test
questions reach 0.35 while SciFact claims and everyday questions asked of the FAQ, and
everyday questions asked of the demo, all stay below it. Raising the floor declines more
off-domain questions and, past about 0.40, starts declining answerable ones.
"""

from __future__ import annotations

from answerdb.embed import DEFAULT_MODEL, STATIC_MODEL

FLOORS = {DEFAULT_MODEL: 0.35, STATIC_MODEL: 0.55}
# A model without a measured floor answers whatever it finds.
UNMEASURED = 0.0


def relevance_floor(model: str) -> float:
    """The cosine below which the knowledge base says it has no good answer."""
    return FLOORS.get(model, UNMEASURED)
