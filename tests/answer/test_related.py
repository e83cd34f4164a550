"""Keep Reading: articles related to the one being read, above a relevance floor, never one
the answer already cites."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import answerdb
from answerdb.answer.related import RELATED_FLOOR, collection_profile, related
from answerdb.embed import Embedder
from answerdb.store import open_store
from answerdb.store.base import Store

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


# Answers that name no topic, the last eight saying much what the first eight say: only the
# question, kept in metadata as a BEIR-style record keeps it, tells bread from tides.
PLAIN_ANSWERS = [
    "Usually about an hour, longer when it is cold.",
    "Twice a day, roughly twelve hours apart.",
    "It depends on the temperature and on what you started with.",
    "Check every few minutes and wait until it has clearly changed.",
    "Not much; the difference is small and hard to notice at first.",
    "Yes, but only when the conditions are right for it.",
    "Write down the times each day and compare them after a week.",
    "The effect is strongest in spring and weakest in late autumn.",
    "Rarely more than a few minutes either way.",
    "Once in the morning and once again in the evening.",
    "A little, though most people never notice the difference.",
    "As soon as it looks about twice as large as before.",
    "Slightly, and more so on a warm day than on a cold one.",
    "You can, if you are patient and accept a different result.",
    "Keep a notebook and mark each change with the date.",
    "It varies over the year, peaking twice in the summer.",
]
TOPICS = {
    "bread": [
        "How long should bread dough rise before baking?",
        "How often should I feed a sourdough starter for bread?",
        "Does the flour change how a loaf of bread bakes?",
        "When is kneaded bread dough ready to shape into a loaf?",
        "Does salt slow the rise of bread dough in the oven?",
        "Can I bake bread without yeast or a sourdough starter?",
        "How do I keep track of my sourdough starter and baking?",
        "Does the season change how bread dough rises and bakes?",
    ],
    "tides": [
        "How long does the sea tide take to turn on the beach?",
        "How often does high tide come in on the coast?",
        "Does the shape of the coast change the ocean tides?",
        "When is the sea at low tide enough to walk to the island?",
        "Does the wind change the height of the ocean tide?",
        "Can the moon cause a spring tide in the sea?",
        "How do I keep a record of the ocean tides on the shore?",
        "Does the season change the range of the sea tides?",
    ],
}


def test_keep_reading_counts_each_articles_question(tmp_path: Path) -> None:
    records = [
        {"_id": f"{topic}-{i}", "title": "", "text": answer, "metadata": {"heading": question}}
        for t, (topic, questions) in enumerate(TOPICS.items())
        for i, (question, answer) in enumerate(zip(questions, PLAIN_ANSWERS[8 * t :], strict=False))
    ]
    corpus = tmp_path / "faq.jsonl"
    corpus.write_text("".join(json.dumps(r) + "\n" for r in records))
    with answerdb.open(tmp_path / "kb") as db:
        db.ingest([corpus])
        model = db.sentence_model
    store = open_store(tmp_path / "kb", readonly=True)
    try:
        alone = _same_topic(store, [r["_id"] for r in records], None)
        asked = _same_topic(store, [r["_id"] for r in records], model)
    finally:
        store.close()
    # By their answers alone every article listed is the other topic's twin; the questions,
    # compared with the static model at half the answers' weight, bring some of each topic's own.
    assert alone[0] == 0
    assert asked[1] >= len(records) / 2
    assert asked[0] / asked[1] >= 0.25


def _same_topic(store: Store, ids: list[str], questions: Embedder | None) -> tuple[int, int]:
    """How many of the articles Keep Reading lists share the reader's topic, of how many."""
    listed = {d: [r.doc_id for r in related(store, d, 5, None, questions)] for d in ids}
    same = sum(other.split("-")[0] == d.split("-")[0] for d, o in listed.items() for other in o)
    return same, sum(map(len, listed.values()))


def test_keep_reading_follows_the_authors_order_where_it_means_something(tmp_path: Path) -> None:
    records = [
        {"_id": f"{topic}-{i}", "title": "", "text": f"{question} {answer}"}
        for t, (topic, questions) in enumerate(TOPICS.items())
        for i, (question, answer) in enumerate(zip(questions, PLAIN_ANSWERS[8 * t :], strict=False))
    ]
    alternating = [r for pair in zip(records[:8], records[8:], strict=True) for r in pair]
    placements, scores = {}, {}
    for name, order in (("grouped", records), ("alternating", alternating)):
        corpus = tmp_path / f"{name}.jsonl"
        corpus.write_text("".join(json.dumps(r) + "\n" for r in order))
        with answerdb.open(tmp_path / name) as db:
            db.ingest([corpus])
            model = db.sentence_model
        store = open_store(tmp_path / name, readonly=True)
        try:
            placements[name] = collection_profile(store, model).placement
            listed = related(store, "bread-3", 15, None, model)
            scores[name] = {r.doc_id: r.score for r in listed}
        finally:
            store.close()
    # Grouped, neighbours in the file measure closer than chance and count so much closer;
    # alternating, neighbours are of the other topic: the order says nothing and counts nothing.
    grouped = placements["grouped"]
    assert len(grouped) >= 2 and grouped[0] > 0.5 and placements["alternating"] == ()
    assert "bread-4" in scores["grouped"] and "bread-4" not in scores["alternating"]
    alone = scores["alternating"]
    assert all(scores["grouped"].get(d, -1.0) >= score - 1e-5 for d, score in alone.items())
    assert all(d.startswith("bread") for d in scores["grouped"])
