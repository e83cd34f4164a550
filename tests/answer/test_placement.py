"""What an article's place says: measured from pair scores, nothing where order is noise."""

from __future__ import annotations

import random

from answerdb.answer.placement import PLACES, RUNS, PairScores, measure, runs
from answerdb.types import Document


def _docs(topics: list[int], source: str = "faq.md") -> list[Document]:
    return [
        Document(doc_id=f"{n}", text="", source=source, title=f"t{t}") for n, t in enumerate(topics)
    ]


def _scores(noise: random.Random) -> PairScores:
    """Pairs of one topic score 1.5 higher, both with unit noise."""

    def scores(reader: Document, others: list[Document]) -> list[float]:
        return [1.5 * (o.title == reader.title) + noise.gauss(0, 1) for o in others]

    return scores


def test_topics_in_runs_earn_their_place() -> None:
    topics = [t for t in range(30) for _ in range(6)]  # 30 topics of 6 articles in a row
    placement = measure(_docs(topics), _scores(random.Random(1)))
    assert 2 <= len(placement) <= PLACES
    assert placement[0] > 1.0 and list(placement) == sorted(placement, reverse=True)


def test_an_order_that_means_nothing_earns_nothing() -> None:
    topics = [t for t in range(30) for _ in range(6)]
    random.Random(2).shuffle(topics)
    assert measure(_docs(topics), _scores(random.Random(3))) == ()


def test_runs_keep_to_one_source_and_spread_over_a_large_collection() -> None:
    small = _docs([0] * 5) + _docs([0] * 4, source="other.md")
    assert [len(r) for r in runs(small)] == [5, 4]
    large = _docs([0] * (RUNS * (PLACES + 1) * 3))
    picked = runs(large)
    assert len(picked) == RUNS and all(len(r) == PLACES + 1 for r in picked)
    assert int(picked[-1][0].doc_id) > len(large) / 2
