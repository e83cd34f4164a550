"""The static model: vectors, tokens, the cached table, the model a knowledge base records."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import answerdb
from answerdb.embed import DEFAULT_MODEL, STATIC_MODEL, Embedder, load_embedder
from answerdb.embed.distill import pca, zipf_weights
from answerdb.embed.static import (
    StaticEmbedder,
    cache_folder,
    load_table,
    load_tokenizer,
    table_file_name,
)
from answerdb.errors import InputError, ModelMismatchError
from answerdb.types import Document

TEXTS = [
    "How do I reverse a list in Python?",
    "Tomatoes need full sun and regular watering.",
    "An HNSW graph finds near neighbours in logarithmic time.",
]


def cosine(embedder: Embedder, a: str, b: str) -> float:
    va, vb = embedder.embed([a, b])
    return float(va @ vb)


def test_vectors_are_unit_float32_rows(static_model: Embedder) -> None:
    vectors = static_model.embed(TEXTS)
    assert static_model.name == STATIC_MODEL and static_model.dim == 256
    assert vectors.shape == (3, 256) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    query = static_model.embed_query(TEXTS[0])
    assert query.shape == (256,) and np.allclose(query, vectors[0], atol=1e-6)


def test_embedding_is_deterministic(static_model: Embedder) -> None:
    first = static_model.embed(TEXTS)
    again = static_model.embed(list(reversed(TEXTS)))[::-1]  # words now remembered
    fresh = StaticEmbedder().embed(TEXTS)  # the table read back from the cache
    assert np.array_equal(first, again) and np.array_equal(first, fresh)


def test_paraphrase_is_closer_than_an_unrelated_sentence(static_model: Embedder) -> None:
    question = "How can I reverse the order of a Python list?"
    assert cosine(static_model, question, TEXTS[0]) > cosine(static_model, question, TEXTS[1])
    assert cosine(static_model, "cheap flights to Paris", "low-cost airfare to Paris") > cosine(
        static_model, "cheap flights to Paris", "the mitochondria makes energy"
    )


def test_words_are_tokenised_as_the_tokenizer_does(static_model: Embedder) -> None:
    texts = [
        "Café naïve RÉSUMÉ",
        "tabs\tand\u00a0no-break spaces, semicolons; (brackets) C++ e.g. 3.14% $5 a~b`c|d^e",
        "中文字符 テスト and emoji 🙂",
        "under_score x" + "y" * 120,
        "\x00control\u200bzero-width\x7f",
    ]
    tokenizer = load_tokenizer()
    table = np.load(cache_folder() / table_file_name())
    for text, vector in zip(texts, static_model.embed(texts), strict=True):
        ids = tokenizer.encode(text, add_special_tokens=False).ids
        expected = table[ids].sum(axis=0)
        assert np.allclose(vector, expected / np.linalg.norm(expected), atol=1e-6), text


def test_text_without_words_is_the_zero_vector(static_model: Embedder) -> None:
    vectors = static_model.embed(["", "   \n"])
    assert not vectors.any()


def test_pca_axes_have_a_fixed_sign() -> None:
    rng = np.random.default_rng(7)
    along = rng.normal(size=(500, 1)) * np.array([[1.0, -2.0, 0.0]])
    rows = along + rng.normal(scale=0.01, size=(500, 3))
    projected = pca(rows, 1)[:, 0]
    # The axis is ±(1, -2, 0)/√5: its largest loading (-2) is made positive.
    assert np.corrcoef(projected, rows[:, 1])[0, 1] > 0.99
    assert np.array_equal(pca(rows, 2), pca(rows.copy(), 2))


def test_zipf_weights_favour_rare_tokens() -> None:
    weights = zipf_weights(30_000, 2e-5)
    assert np.all(np.diff(weights) > 0) and 0 < weights[0] < 0.01 and weights[-1] > 0.8


def test_table_is_built_once_and_rebuilt_when_unreadable(tmp_path: Path) -> None:
    built: list[int] = []

    def build() -> np.ndarray:
        built.append(1)
        return np.arange(12, dtype=np.float32).reshape(4, 3)

    path = tmp_path / "models" / "table.npy"
    first = load_table(path, (4, 3), build)
    assert np.array_equal(load_table(path, (4, 3), build), first) and len(built) == 1
    assert not [p for p in path.parent.iterdir() if p != path]  # no temporary file left
    path.write_bytes(b"half a file")
    assert np.array_equal(load_table(path, (4, 3), build), first) and len(built) == 2
    assert np.array_equal(load_table(path, (5, 3), build), first) and len(built) == 3


def test_an_unwritable_cache_still_gives_the_table(tmp_path: Path) -> None:
    (tmp_path / "models").write_text("a file where the folder should be")
    table = load_table(tmp_path / "models" / "t.npy", (1, 2), lambda: np.ones((1, 2), "f4"))
    assert table.shape == (1, 2)


def test_cache_folder_follows_answerdb_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANSWERDB_CACHE", str(tmp_path))
    assert cache_folder() == tmp_path / "models"
    monkeypatch.delenv("ANSWERDB_CACHE")
    assert cache_folder() == Path.home() / ".cache" / "answerdb" / "models"


def test_knowledge_base_records_the_static_model(tmp_path: Path, static_model: Embedder) -> None:
    path = tmp_path / "kb"
    with answerdb.open(path, model=STATIC_MODEL) as db:
        db.add([Document(doc_id=f"d{i}", text=text, source="x") for i, text in enumerate(TEXTS)])
        assert db.stats()["model_model"] == STATIC_MODEL
    with answerdb.open(path, readonly=True) as db:  # no model named: the recorded one
        assert db.embedder.name == STATIC_MODEL
        stats = db.stats()
        assert (stats["model_model"], stats["model_revision"], stats["model_dim"]) == (
            STATIC_MODEL,
            static_model.revision,
            "256",
        )
        assert db.search("reverse a python list", k=1, mode="dense")[0].doc_id == "d0"


def test_another_model_is_refused(tmp_path: Path, static_model: Embedder) -> None:
    with answerdb.open(tmp_path / "kb", model=STATIC_MODEL) as db:
        db.add([Document(doc_id="a", text=TEXTS[0], source="x")])
    with (
        answerdb.open(tmp_path / "kb", model=DEFAULT_MODEL, readonly=True) as db,
        pytest.raises(ModelMismatchError, match=STATIC_MODEL),
    ):
        db.search("python list")


def test_unknown_model_names_the_available_ones() -> None:
    with pytest.raises(InputError, match=f"available: {DEFAULT_MODEL}, {STATIC_MODEL}"):
        load_embedder("word2vec")
