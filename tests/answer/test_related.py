"""Keep Reading: articles related to the one being read, above a relevance floor, never one
the answer already cites."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

import answerdb
from answerdb.answer.related import RELATED_FLOOR

from ..kb import CAREERS, CAREERS_QUESTION

ANOMALY = "anomaly-detection/what-is-anomaly-detection"
BREAD = """---
question: How long should bread dough rise?
---
Bread dough should rise until it has roughly doubled in size, usually one to two hours at
room temperature. Yeast ferments the sugars in the flour and releases gas that the gluten
traps, so a warm kitchen speeds the rise and a cold one slows it. Knead, shape and bake the
loaf once a finger pressed into the dough leaves a dent that springs back slowly.
"""


@pytest.fixture
def demo(demo_kb: Path) -> Iterator[answerdb.AnswerDB]:
    db = answerdb.open(demo_kb, readonly=True)
    yield db
    db.close()


def test_the_answer_lists_no_article_it_cites(demo: answerdb.AnswerDB) -> None:
    for question in (CAREERS_QUESTION, "What is RAG?", "How do autoencoders detect anomalies?"):
        answer = demo.ask(question)
        cited = {c.hit.doc_id for c in answer.citations}
        keep = {r.doc_id for r in answer.keep_reading}
        assert cited and keep and not keep & cited


def test_related_leaves_out_what_the_caller_excludes(demo: answerdb.AnswerDB) -> None:
    first = [r.doc_id for r in demo.related(CAREERS, k=3)]
    again = [r.doc_id for r in demo.related(CAREERS, k=3, exclude={first[0]})]
    assert first[0] not in again and CAREERS not in again
    assert again[:2] == first[1:]


def test_related_stays_in_the_readers_topic(demo: answerdb.AnswerDB) -> None:
    items = demo.related(ANOMALY, k=5)
    assert len(items) == 5
    assert all(item.series == "Anomaly detection" for item in items)
    assert all(item.score >= RELATED_FLOOR for item in items)
    assert [i.score for i in items] == sorted((i.score for i in items), reverse=True)


def test_an_article_on_its_own_topic_gets_no_keep_reading(demo_kb: Path, tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    shutil.copytree(demo_kb, kb)
    (tmp_path / "bread.md").write_text(BREAD)
    with answerdb.open(kb) as db:
        added = db.ingest([tmp_path / "bread.md"]).added
        assert db.related(added[0]) == []
        # Read from the other side, the bread article is no one's Keep Reading either.
        assert added[0] not in {r.doc_id for r in db.related(CAREERS, k=10)}


def test_a_tiny_collection_lists_its_other_articles(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    for name in ("tides", "waves", "bread"):
        (folder / f"{name}.md").write_text(f"# About {name}\n\nA short note on {name}.\n")
    with answerdb.open(tmp_path / "kb") as db:
        db.ingest([folder])
        ids = [d.doc_id for d in db.documents()]
        assert len(db.related(ids[0])) == 2
