from __future__ import annotations

import pytest

from answerdb.retrieve.crowding import discount
from answerdb.types import Hit


def test_a_crowded_passage_falls_behind_a_distinct_one() -> None:
    hits = [Hit(1, "hub", "", 0.80), Hit(2, "answer", "", 0.75)]
    ranked = discount(hits, [0.9, 0.3], 0.3)
    assert [h.doc_id for h in ranked] == ["answer", "hub"]
    assert [h.score for h in ranked] == pytest.approx([0.75 - 0.09, 0.80 - 0.27])


def test_no_weight_keeps_the_order() -> None:
    hits = [Hit(1, "a", "", 0.5), Hit(2, "b", "", 0.4)]
    assert discount(hits, [0.9, 0.0], 0.0) == hits
