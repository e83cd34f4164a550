"""MiniLM's integer graph: its vectors, its cache, and knowledge bases of the other graph."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

import answerdb
from answerdb.embed import Embedder, Vectors
from answerdb.embed import quantise as quantise_module
from answerdb.embed.base import Progress
from answerdb.embed.minilm import QUANTISED_REVISION, SOURCE_REVISION, MiniLMEmbedder
from answerdb.errors import ModelMismatchError
from answerdb.types import Document

TEXTS = [
    "How do I reverse a list in Python?",
    "Tomatoes need full sun and regular watering.",
    "An HNSW graph finds near neighbours in logarithmic time.",
    "Randomised trials of statin therapy reduced cardiovascular events in older adults.",
]


@pytest.fixture(scope="module")
def integer_graph() -> MiniLMEmbedder:
    """The integer graph, built once per machine into the user's model cache."""
    return MiniLMEmbedder(threads=2, quantised=True)


def test_vectors_are_unit_384d_and_close_to_the_source_graph(
    minilm: Embedder, integer_graph: MiniLMEmbedder
) -> None:
    vectors = integer_graph.embed(TEXTS)
    assert vectors.shape == (4, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    cosines = (vectors * minilm.embed(TEXTS)).sum(axis=1)
    assert cosines.min() >= 0.985 and cosines.mean() >= 0.99
    assert integer_graph.revision == QUANTISED_REVISION != minilm.revision == SOURCE_REVISION


def test_the_environment_picks_the_integer_graph(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANSWERDB_MINILM_GRAPH", "int8")
    assert MiniLMEmbedder(threads=1, cache_dir=tmp_path).revision == QUANTISED_REVISION
    monkeypatch.delenv("ANSWERDB_MINILM_GRAPH")
    assert MiniLMEmbedder(threads=1, cache_dir=tmp_path).revision == SOURCE_REVISION


def test_integer_graph_is_built_once_then_reused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = MiniLMEmbedder(threads=1, quantised=True, cache_dir=tmp_path).embed(TEXTS[:1])
    (cached,) = tmp_path.iterdir()  # one file: no temporary left behind
    assert cached.name == quantise_module.quantised_file_name(
        "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
    )

    def refuse(source: Path, dest: Path) -> None:
        raise AssertionError("built again")

    monkeypatch.setattr(quantise_module, "build_quantised", refuse)
    again = MiniLMEmbedder(threads=1, quantised=True, cache_dir=tmp_path).embed(TEXTS[:1])
    assert np.array_equal(first, again)


def test_a_damaged_cache_file_is_built_again(tmp_path: Path) -> None:
    MiniLMEmbedder(threads=1, quantised=True, cache_dir=tmp_path)
    (cached,) = tmp_path.iterdir()
    cached.write_bytes(b"half a file")
    vector = MiniLMEmbedder(threads=1, quantised=True, cache_dir=tmp_path).embed_query(TEXTS[0])
    assert cached.stat().st_size > 1_000_000 and np.isclose(np.linalg.norm(vector), 1.0)


@pytest.mark.parametrize("first", ["source", "integer"])
def test_a_knowledge_base_of_either_graph_opens_with_the_other(
    tmp_path: Path, minilm: Embedder, integer_graph: MiniLMEmbedder, first: str
) -> None:
    maker, other = (minilm, integer_graph) if first == "source" else (integer_graph, minilm)
    path = tmp_path / "kb"
    docs = [Document(doc_id=f"d{i}", text=text, source="x") for i, text in enumerate(TEXTS)]
    with answerdb.open(path, embedder=maker) as db:
        db.add(docs[:2])
    with answerdb.open(path, embedder=other) as db:
        db.add(docs[2:])  # new passages join the old ones
        assert db.search("reverse a python list", k=1, mode="dense")[0].doc_id == "d0"
        assert db.search("statins and heart disease", k=1, mode="dense")[0].doc_id == "d3"
        assert db.stats()["model_revision"] == maker.revision  # the record is kept as it was


class OtherRevision:
    """MiniLM's vectors recorded under a revision the integer graph does not accept."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.name, self.revision, self.dim = inner.name, "onnx-int8:000000000000", inner.dim

    def embed(self, texts: Sequence[str], progress: Progress | None = None) -> Vectors:
        return self.inner.embed(texts, progress)

    def embed_query(self, text: str) -> Vectors:
        return self.inner.embed_query(text)


def test_a_revision_outside_the_accepted_ones_is_refused(
    tmp_path: Path, minilm: Embedder, integer_graph: MiniLMEmbedder
) -> None:
    with answerdb.open(tmp_path / "kb", embedder=OtherRevision(minilm)) as db:
        db.add([Document(doc_id="a", text=TEXTS[0], source="x")])
    with (
        answerdb.open(tmp_path / "kb", embedder=integer_graph, readonly=True) as db,
        pytest.raises(ModelMismatchError, match="onnx-int8:000000000000"),
    ):
        db.search("python list")
