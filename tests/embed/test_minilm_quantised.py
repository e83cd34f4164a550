"""MiniLM's integer graph (the default on a CPU): its vectors, its cache, and knowledge bases
of the pinned float graph or of an earlier integer recipe."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

import answerdb
from answerdb.embed import Embedder, Vectors
from answerdb.embed import quantise as quantise_module
from answerdb.embed.base import Progress
from answerdb.embed.minilm import (
    MODEL_SHA256,
    QUANTISED_REVISION,
    SOURCE_REVISION,
    MiniLMEmbedder,
    pinned_model_path,
)
from answerdb.errors import AnswerDBError, ModelMismatchError
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


@pytest.fixture(scope="module")
def float_graph() -> MiniLMEmbedder:
    """The pinned graph as shipped."""
    return MiniLMEmbedder(threads=2, quantised=False)


def test_vectors_are_unit_384d_and_close_to_the_float_graph(
    float_graph: MiniLMEmbedder, integer_graph: MiniLMEmbedder
) -> None:
    vectors = integer_graph.embed(TEXTS)
    assert vectors.shape == (4, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    cosines = (vectors * float_graph.embed(TEXTS)).sum(axis=1)
    assert cosines.min() >= 0.99 and cosines.mean() >= 0.993
    assert integer_graph.revision == QUANTISED_REVISION != float_graph.revision == SOURCE_REVISION


def test_a_texts_vector_does_not_depend_on_its_batch(integer_graph: MiniLMEmbedder) -> None:
    # Each token is quantised by its own scale, not the batch's: the longest text in a batch
    # (more padding for the rest) and a text alone give the same vectors.
    together = integer_graph.embed(TEXTS)
    alone = np.concatenate([integer_graph.embed([text]) for text in TEXTS])
    assert (together * alone).sum(axis=1).min() >= 0.9999


def test_questions_run_on_the_float_graph(
    float_graph: MiniLMEmbedder, integer_graph: MiniLMEmbedder
) -> None:
    question = integer_graph.embed_query(TEXTS[0])
    assert np.allclose(question, float_graph.embed_query(TEXTS[0]), atol=1e-5)
    assert not np.allclose(question, integer_graph.embed(TEXTS[:1])[0], atol=1e-4)


def test_the_integer_graph_is_the_default_and_the_environment_picks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ANSWERDB_MINILM_GRAPH", raising=False)
    monkeypatch.setenv("ANSWERDB_DEVICE", "cpu")
    assert MiniLMEmbedder(threads=1, cache_dir=tmp_path).revision == QUANTISED_REVISION
    monkeypatch.setenv("ANSWERDB_MINILM_GRAPH", "float")
    assert MiniLMEmbedder(threads=1, cache_dir=tmp_path).revision == SOURCE_REVISION
    monkeypatch.setenv("ANSWERDB_MINILM_GRAPH", "int8")
    assert MiniLMEmbedder(threads=1, cache_dir=tmp_path).revision == QUANTISED_REVISION
    monkeypatch.setenv("ANSWERDB_MINILM_GRAPH", "int4")
    with pytest.raises(AnswerDBError, match="ANSWERDB_MINILM_GRAPH='int4'"):
        MiniLMEmbedder(threads=1, cache_dir=tmp_path)


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
    tmp_path: Path, float_graph: MiniLMEmbedder, integer_graph: MiniLMEmbedder, first: str
) -> None:
    maker, other = (float_graph, integer_graph)
    if first == "integer":
        maker, other = other, maker
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
    """MiniLM's vectors recorded under another revision."""

    def __init__(self, inner: Embedder, revision: str = "onnx-int8:000000000000") -> None:
        self.inner = inner
        self.name, self.revision, self.dim = inner.name, revision, inner.dim

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


@pytest.mark.parametrize("recipe", ["onnx-dynint8-v1", "onnx-tokenint8-v2-w7"])
def test_a_knowledge_base_of_another_integer_recipe_opens(
    tmp_path: Path, integer_graph: MiniLMEmbedder, recipe: str
) -> None:
    earlier = f"{recipe}:{MODEL_SHA256[:12]}"
    with answerdb.open(tmp_path / "kb", embedder=OtherRevision(integer_graph, earlier)) as db:
        db.add([Document(doc_id="a", text=TEXTS[0], source="x")])
    with answerdb.open(tmp_path / "kb", embedder=integer_graph, readonly=True) as db:
        assert db.search("python list", k=1, mode="dense")[0].doc_id == "a"
        assert db.stats()["model_revision"] == earlier


def test_weights_keep_8_bits_only_where_the_cpu_multiplies_exactly(
    tmp_path: Path, float_graph: MiniLMEmbedder
) -> None:
    assert quantise_module.weight_bits("flags : fpu sse2 avx2 fma avx512_vnni") == 8
    assert quantise_module.weight_bits("Features : fp asimd asimddp") == 8
    assert quantise_module.weight_bits("flags : fpu sse2 avx2 fma") == 7
    assert quantise_module.recipe_name(7) != quantise_module.recipe_name(8)
    # The 7-bit graph, as a CPU without VNNI builds it, is as close to the float graph.
    path = tmp_path / quantise_module.quantised_file_name(MODEL_SHA256, 7)
    quantise_module.build_quantised(pinned_model_path(), path, 7)
    seven = MiniLMEmbedder(threads=1, quantised=False)
    seven._session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    cosines = (seven.embed(TEXTS) * float_graph.embed(TEXTS)).sum(axis=1)
    assert cosines.min() >= 0.99
