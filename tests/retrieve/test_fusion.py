from __future__ import annotations

import pytest

from answerdb.retrieve.fusion import FusionSettings, convex, fuse, is_question, rrf
from answerdb.types import Hit


def hits(*rows: int, scores: list[float] | None = None) -> list[Hit]:
    values = scores or [1.0 / (i + 1) for i in range(len(rows))]
    return [Hit(row=r, doc_id=f"d{r}", text="", score=s) for r, s in zip(rows, values, strict=True)]


def test_rrf_rewards_agreement() -> None:
    fused = rrf([hits(1, 2, 3), hits(3, 4, 1)], [1.0, 1.0], k=60)
    assert [h.row for h in fused][:2] == [1, 3]
    assert fused[0].score == 1 / 61 + 1 / 63


def test_rrf_weights_favour_one_side() -> None:
    fused = rrf([hits(1, 2), hits(2, 1)], [1.0, 0.2], k=60)
    assert [h.row for h in fused] == [1, 2]


def test_convex_normalises_each_list() -> None:
    # A large gap on the dense side outweighs a small one on the keyword side, whatever the scale.
    dense = hits(1, 2, 3, scores=[0.9, 0.1, 0.1])
    keyword = hits(2, 1, 3, scores=[30.0, 29.0, 28.0])
    fused = convex([dense, keyword], [0.5, 0.5])
    assert [h.row for h in fused] == [1, 2, 3]


def test_convex_counts_a_silent_list_as_its_lowest_score() -> None:
    dense = hits(1, 2, 4, scores=[0.9, 0.8, 0.1])
    keyword = hits(3, 2, 5, scores=[9.0, 8.0, 1.0])
    fused = convex([dense, keyword], [0.5, 0.5])
    assert fused[0].row == 2  # good on both sides beats best on one and absent on the other
    assert len(fused) == 5


def test_default_fusion_favours_the_dense_side() -> None:
    settings = FusionSettings()
    assert settings.method == "convex" and settings.dense_weight > settings.keyword_weight


def test_fuse_keeps_hits_found_by_one_side_only() -> None:
    fused = fuse(hits(1), hits(2), FusionSettings())
    assert sorted(h.row for h in fused) == [1, 2]
    fused = fuse(hits(1), hits(2), FusionSettings(method="rrf"))
    assert sorted(h.row for h in fused) == [1, 2]


def test_fuse_of_nothing_is_nothing() -> None:
    assert fuse([], [], FusionSettings(method="convex")) == []


@pytest.mark.parametrize(
    ("query", "question"),
    [
        ("How do I sort a list?", True),
        ("what is hnsw", True),
        ("Is there a way to freeze a dict", True),
        ("  Does Python have a ternary operator", True),
        ("sort a list in place?", True),
        ("hnsw graph index", False),
        ("Vitamin D deficiency raises the risk of falls.", False),
        ("Whatever happened to the old API", False),  # an opener must be a whole word
    ],
)
def test_questions_are_told_from_other_queries(query: str, question: bool) -> None:
    assert is_question(query) is question


def test_a_question_leans_on_the_dense_side() -> None:
    settings = FusionSettings()
    assert settings.weights("hnsw graph index") == (0.6, 0.4)
    assert settings.weights("What is an HNSW graph?") == pytest.approx((0.7, 0.3))
    # The shift never takes the keyword list below zero, and can be turned off.
    assert FusionSettings(dense_weight=1, keyword_weight=0).weights("Why?") == (1, 0)
    assert FusionSettings(question_shift=0).weights("Why?") == (0.6, 0.4)
    # It decides close calls: the keyword side's favourite wins a query, loses the question.
    dense = hits(1, 2, 3, 4, scores=[0.8, 0.7, 0.5, 0.4])
    keyword = hits(2, 1, 3, 4, scores=[8.0, 6.0, 5.0, 4.0])
    assert fuse(dense, keyword, settings, "sort list")[0].row == 2
    assert fuse(dense, keyword, settings, "How do I sort a list?")[0].row == 1
