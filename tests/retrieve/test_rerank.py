from __future__ import annotations

import sys
from pathlib import Path

import pytest

from answerdb.db import AnswerDB
from answerdb.errors import InputError
from answerdb.retrieve.rerank import load_reranker, rerank
from answerdb.types import Hit


class WordOverlap:
    """A stand-in re-ranker: counts query words in the passage."""

    name = "word-overlap"

    def score(self, query: str, passages: list[str]) -> list[float]:
        words = set(query.lower().split())
        return [float(len(words & set(p.lower().split()))) for p in passages]


class Backwards:
    """A re-ranker that reverses the order it is given: its effect cannot go unseen."""

    name = "backwards"

    def score(self, query: str, passages: list[str]) -> list[float]:
        return [float(i) for i in range(len(passages))]


NOT_A_RERANKER = 42
OVERLAP = WordOverlap()


def test_rerank_reorders_the_head_and_keeps_the_tail() -> None:
    hits = [
        Hit(row=i, doc_id=str(i), text=t, score=1.0)
        for i, t in enumerate(["nothing here", "graph index", "a graph", "tail graph index"])
    ]
    out = rerank(WordOverlap(), "graph index", hits, depth=3)
    assert [h.row for h in out] == [1, 2, 0, 3]


def test_rerank_mode_needs_a_reranker(demo_db: AnswerDB) -> None:
    with pytest.raises(InputError, match="needs a re-ranker"):
        demo_db.search("hnsw", mode="hybrid+rerank")
    demo_db.reranker = WordOverlap()
    try:
        hits = demo_db.search("hnsw graph index", k=3, mode="hybrid+rerank")
    finally:
        demo_db.reranker = None
    assert len(hits) == 3 and "graph" in hits[0].text.lower()


def test_load_reranker_takes_an_object_or_makes_one_from_a_class() -> None:
    assert load_reranker(f"{__name__}:OVERLAP") is OVERLAP
    assert isinstance(load_reranker(f"{__name__}:Backwards"), Backwards)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("no_colon", "give MODULE:NAME"),
        ("no.such.module:Thing", "cannot load it"),
        (f"{__name__}:Missing", "cannot load it"),
        (f"{__name__}:NOT_A_RERANKER", "no score"),
        ("json:dumps", "without arguments"),
        ("json:JSONDecoder", "what it makes has no score"),
    ],
)
def test_load_reranker_names_what_is_wrong(spec: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        load_reranker(spec)


def test_load_reranker_finds_a_module_in_the_working_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "local_reranker.py").write_text(
        "class Model:\n    name = 'local'\n\n    def score(self, query, passages):\n"
        "        return [0.0 for _ in passages]\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))])
    assert load_reranker("local_reranker:Model").score("q", ["a", "b"]) == [0.0, 0.0]
