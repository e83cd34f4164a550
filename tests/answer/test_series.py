"""Learn series: from front matter, and automatic (clustered) where front matter names none."""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import answerdb
from answerdb.answer import series as series_module
from answerdb.answer.measures import nmi
from answerdb.answer.series import auto_series, cluster, learn_series
from answerdb.cli.main import main
from answerdb.db import AnswerDB
from answerdb.embed import Embedder
from answerdb.store import open_store
from answerdb.store.embedded.store import EmbeddedStore
from answerdb.types import Document

from ..conftest import HashEmbedder
from ..kb import DEMO


def _demo_articles(demo_kb: Path) -> tuple[list[Document], np.ndarray]:
    store = open_store(demo_kb, readonly=True)
    docs = [store.document(d.doc_id) for d in store.documents()]
    articles = [d for d in docs if d is not None]
    vectors = np.stack([store.passage_vectors(d.doc_id).mean(axis=0) for d in articles])
    store.close()
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return articles, vectors.astype(np.float32)


def test_front_matter_series_are_kept(demo_db: AnswerDB) -> None:
    groups = demo_db.series()
    assert len(groups) == 8
    assert not any(g.auto for g in groups)
    assert "Computer vision" in {g.name for g in groups}


def test_auto_series_recover_the_demo_topics(demo_kb: Path) -> None:
    articles, vectors = _demo_articles(demo_kb)
    unnamed = [dataclasses.replace(d, metadata={}) for d in articles]
    groups = auto_series(unnamed, vectors)
    truth = {d.doc_id: d.metadata["series"] for d in articles}
    # Purity: most articles sit in a series with the articles of their real topic.
    agree = sum(Counter(truth[d.doc_id] for d in g.articles).most_common(1)[0][1] for g in groups)
    assert agree / len(articles) >= 0.65
    assert 5 <= len(groups) <= 12
    assert sum(len(g.articles) for g in groups) == len(articles)
    assert all(g.auto and g.name and g.terms for g in groups)
    assert len({g.name for g in groups}) == len(groups)


def test_auto_series_start_with_the_most_central_article(demo_kb: Path) -> None:
    articles, vectors = _demo_articles(demo_kb)
    index = {d.doc_id: i for i, d in enumerate(articles)}
    for group in auto_series(articles, vectors):
        rows = vectors[[index[d.doc_id] for d in group.articles]]
        centre = rows.mean(axis=0)
        closeness = rows @ (centre / np.linalg.norm(centre))
        assert closeness[0] == pytest.approx(closeness.max())


def test_auto_series_names_use_distinctive_terms(demo_kb: Path) -> None:
    articles, vectors = _demo_articles(demo_kb)
    names = " ".join(g.name.lower() for g in auto_series(articles, vectors))
    assert "anomal" in names or "outlier" in names
    assert "vision" in names or "image" in names or "video" in names


def _topics(count: int, size: int, noise: float, seed: int = 1) -> np.ndarray:
    """Unit vectors in ``count`` topics (orthogonal axes) of ``size`` articles each."""
    rng = np.random.default_rng(seed)
    axes = np.roll(np.eye(64), seed, axis=1)[:count]
    points = np.repeat(axes, size, axis=0) + noise * rng.standard_normal((count * size, 64))
    return (points / np.linalg.norm(points, axis=1, keepdims=True)).astype(np.float32)


def test_the_number_of_series_follows_the_topics() -> None:
    for count in (3, 20):
        labels = cluster(_topics(count, 8, 0.1))
        truth = np.repeat(np.arange(count), 8)
        assert len(set(labels.tolist())) == count
        assert nmi([str(x) for x in truth], [str(x) for x in labels]) == pytest.approx(1.0)


def test_a_large_collection_is_clustered_on_a_sample(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(series_module, "LINK_SAMPLE", 40)
    labels = cluster(_topics(5, 40, 0.1))
    truth = [str(x) for x in np.repeat(np.arange(5), 40)]
    assert nmi(truth, [str(x) for x in labels]) == pytest.approx(1.0)


def test_series_shorter_than_three_join_the_nearest() -> None:
    vectors = np.concatenate([_topics(2, 10, 0.1), _topics(1, 1, 0.1, seed=9)])
    labels = cluster(vectors)
    assert len(set(labels.tolist())) == 2 and np.bincount(labels).sum() == 21


def test_too_few_articles_make_one_series() -> None:
    docs = [Document(doc_id=f"d{i}", text="vectors and indexes", source="x") for i in range(4)]
    vectors = np.eye(4, dtype=np.float32)
    groups = auto_series(docs, vectors)
    assert len(groups) == 1 and len(groups[0].articles) == 4


def test_learn_series_mixes_named_and_automatic() -> None:
    named = Document(doc_id="n", text="", source="x", metadata={"series": "Basics"})
    plain = [Document(doc_id=f"p{i}", text="", source="x", question="What is HNSW?") for i in "ab"]
    groups = learn_series([named, *plain], lambda _: np.ones((1, 4), dtype=np.float32))
    assert groups[0].name == "Basics"
    assert groups[1].auto and {d.doc_id for d in groups[1].articles} == {"pa", "pb"}


def test_cli_series_prints_automatic_series(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], minilm: Embedder
) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    topics = {
        "ocean": "Tides, waves and currents move ocean water along coasts and beaches.",
        "bread": "Flour, yeast and water make dough that rises and bakes into bread.",
    }
    for topic, text in topics.items():
        for i in range(4):
            (folder / f"{topic}-{i}.md").write_text(f"# About {topic} {i}\n\n{text} Part {i}.\n")
    kb = tmp_path / "kb"
    with AnswerDB(EmbeddedStore(kb), model=minilm.name, embedder=minilm) as db:
        db.ingest([folder])
    assert main(["series", str(kb)]) == 0
    out = capsys.readouterr().out
    assert "ocean" in out.lower() and "bread" in out.lower()
    assert out.count("(4)") == 2


def test_hash_embedder_kb_gets_series(tmp_path: Path) -> None:
    embedder = HashEmbedder()
    docs = [
        Document(doc_id=f"d{i}", text=f"article {i} about storage", source="x") for i in range(3)
    ]
    with AnswerDB(EmbeddedStore(tmp_path / "kb"), model=embedder.name, embedder=embedder) as db:
        db.add(docs)
        groups = db.series()
    assert len(groups) == 1 and groups[0].auto


def test_named_series_open_with_their_introduction(demo: answerdb.AnswerDB) -> None:
    first = {g.name: g.articles[0].heading for g in demo.series()}
    assert first["Anomaly detection"] == "What is anomaly detection?"
    assert first["Retrieval-augmented generation"] == "What is retrieval-augmented generation?"
    assert first["Video AI"] == "What is video understanding?"


def test_front_matter_order_then_weight_come_first(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    pages = {"a": "order: 3", "b": "weight: 1", "c": "order: 2", "d": "", "e": "order: x"}
    for name, line in pages.items():
        text = f"---\nseries: Basics\n{line}\n---\n# Page {name}\n\nAbout storage {name}.\n"
        (folder / f"{name}.md").write_text(text)
    with answerdb.open(tmp_path / "kb") as db:
        db.ingest([folder])
        (group,) = db.series()
    names = [a.heading for a in group.articles]
    assert names[:3] == ["Page b", "Page c", "Page a"]
    assert sorted(names[3:]) == ["Page d", "Page e"]


@pytest.fixture(scope="module")
def unnamed_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[answerdb.AnswerDB]:
    """The demo articles without their front-matter series, ingested once."""
    root = tmp_path_factory.mktemp("unnamed")
    for page in DEMO.rglob("*.md"):
        target = root / "docs" / page.relative_to(DEMO)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(re.sub(r"(?m)^series:.*\n", "", page.read_text()))
    db = answerdb.open(root / "kb")
    db.ingest([root / "docs"], on_error="raise")
    yield db
    db.close()


def test_automatic_series_are_as_many_as_the_demo_topics(unnamed_demo: answerdb.AnswerDB) -> None:
    groups = unnamed_demo.series()
    assert all(g.auto for g in groups) and 7 <= len(groups) <= 9
    found = {a.doc_id: g.name for g in groups for a in g.articles}
    truth = [doc_id.split("/")[0] for doc_id in found]
    assert nmi(truth, list(found.values())) >= 0.65
    anomaly = next(g for g in groups if "anomal" in g.name.lower())
    assert anomaly.articles[0].heading == "What is anomaly detection?"
