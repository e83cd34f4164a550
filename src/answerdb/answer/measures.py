"""How well Keep Reading and series follow a collection's topics, given a label per article
(a section, say) that played no part in building them."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt


def same_label_precision(
    neighbours: Mapping[str, Sequence[str]], labels: Mapping[str, str]
) -> float:
    """The share of listed neighbours that carry the label of the article they were listed for
    (over all listings together); 0 when nothing was listed."""
    listed = same = 0
    for doc_id, found in neighbours.items():
        listed += len(found)
        same += sum(labels.get(other) == labels[doc_id] for other in found)
    return same / listed if listed else 0.0


def chance_precision(labels: Mapping[str, str]) -> float:
    """The precision of neighbours drawn at random: the chance that another article shares
    an article's label."""
    n = len(labels)
    if n < 2:
        return 0.0
    sizes = np.array(list(Counter(labels.values()).values()), dtype=np.float64)
    return float(np.sum(sizes * (sizes - 1)) / (n * (n - 1)))


def nmi(first: Sequence[str], second: Sequence[str]) -> float:
    """Normalised mutual information of two labellings of the same items (arithmetic-mean
    normalisation, as sklearn's default): 1 for the same partition, near 0 for unrelated."""
    if len(first) != len(second):
        raise ValueError("the labellings must cover the same items")
    table = _contingency(first, second)
    if table.size == 0:
        return 0.0
    joint = table / table.sum()
    rows, cols = joint.sum(axis=1), joint.sum(axis=0)
    inside = joint > 0
    mutual = float(np.sum(joint[inside] * np.log(joint[inside] / np.outer(rows, cols)[inside])))
    spread = (_entropy(rows) + _entropy(cols)) / 2
    # Two single-cluster labellings agree perfectly, though they carry no information.
    return 1.0 if spread == 0 else max(mutual / spread, 0.0)


def _contingency(first: Sequence[str], second: Sequence[str]) -> npt.NDArray[np.float64]:
    a = {label: i for i, label in enumerate(dict.fromkeys(first))}
    b = {label: i for i, label in enumerate(dict.fromkeys(second))}
    table = np.zeros((len(a), len(b)), dtype=np.float64)
    for x, y in zip(first, second, strict=True):
        table[a[x], b[y]] += 1
    return table


def _entropy(p: npt.NDArray[np.float64]) -> float:
    p = p[p > 0]
    return float(-np.sum(p * np.log(p)))
