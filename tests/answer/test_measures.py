"""The reading measures: same-label precision, its chance level, and NMI."""

from __future__ import annotations

import numpy as np
import pytest

from answerdb.answer.measures import chance_precision, nmi, same_label_precision


def test_nmi_is_one_for_the_same_partition_under_other_names() -> None:
    assert nmi(["a", "a", "b", "b", "c"], ["x", "x", "y", "y", "z"]) == pytest.approx(1.0)


def test_nmi_is_near_zero_for_unrelated_partitions() -> None:
    rng = np.random.default_rng(0)
    first = [str(x) for x in rng.integers(0, 5, 5000)]
    second = [str(x) for x in rng.integers(0, 5, 5000)]
    assert nmi(first, second) < 0.01


def test_nmi_matches_a_value_worked_by_hand() -> None:
    # Knowing "second" gives "first" whole: I = H(first) = log 2; H(second) = 1.5 log 2.
    assert nmi(["a", "a", "b", "b"], ["x", "y", "z", "z"]) == pytest.approx(0.8)


def test_nmi_refuses_labellings_of_different_lengths() -> None:
    with pytest.raises(ValueError):
        nmi(["a"], ["a", "b"])


def test_same_label_precision_counts_every_listed_neighbour() -> None:
    labels = {"a": "s", "b": "s", "c": "t", "d": "t"}
    neighbours = {"a": ["b", "c"], "c": ["d"], "d": []}
    assert same_label_precision(neighbours, labels) == pytest.approx(2 / 3)
    assert same_label_precision({"a": []}, labels) == 0.0


def test_chance_precision_is_the_share_of_other_articles_with_ones_label() -> None:
    labels = {"a": "s", "b": "s", "c": "t", "d": "t"}
    assert chance_precision(labels) == pytest.approx(1 / 3)
