"""`answerdb import-vectors`: good files land whole and searchable; bad ones are refused whole."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from answerdb.cli.main import main
from answerdb.errors import InputError
from answerdb.store.embedded.store import EmbeddedStore
from answerdb.tools.import_vectors import import_vectors

DIM = 8
MODEL = ("test-model", "r1")


def unit_vectors(n: int, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((n, DIM)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def write_npy(
    folder: Path, vectors: np.ndarray, records: list[dict[str, Any]] | None = None
) -> Path:
    file = folder / "vectors.npy"
    np.save(file, vectors)
    records = (
        records
        if records is not None
        else [
            {"id": f"v{i}", "text": f"passage {i}", "metadata": {"bucket": i % 4}}
            for i in range(len(vectors))
        ]
    )
    with open(folder / "vectors.jsonl", "w", encoding="utf-8") as fh:
        fh.writelines(json.dumps(r) + "\n" for r in records)
    return file


def write_parquet(folder: Path, rows: dict[str, list[Any]]) -> Path:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    file = folder / "vectors.parquet"
    pq.write_table(pa.table(rows), file)
    return file


@pytest.fixture
def store(tmp_path: Path) -> EmbeddedStore:
    return EmbeddedStore(tmp_path / "kb", exact_limit=0)  # 0: searches go through the graph


def test_npy_import_is_searchable_and_filterable(tmp_path: Path, store: EmbeddedStore) -> None:
    vectors = unit_vectors(300)
    report = import_vectors(store, write_npy(tmp_path, vectors), model=MODEL, batch=128)
    assert (report.vectors, report.dim) == (300, DIM)
    assert store.model() == {"model": "test-model", "revision": "r1", "dim": str(DIM)}
    hits = store.vector_search(vectors[42], 1)
    assert hits[0].doc_id == "v42" and hits[0].text == "passage 42"
    assert hits[0].score == pytest.approx(1.0, abs=0.01)  # the int8 scale fits 8-d vectors
    filtered = store.vector_search(vectors[42], 5, where={"bucket": 1})
    assert filtered and all(h.metadata["bucket"] == 1 for h in filtered)
    store.close()
    reopened = EmbeddedStore(store.path, readonly=True, exact_limit=0)
    assert reopened.ann.rows == 300  # the graph was saved when the import ended
    assert reopened.vector_search(vectors[7], 1)[0].doc_id == "v7"


def test_parquet_import_with_json_metadata(tmp_path: Path, store: EmbeddedStore) -> None:
    vectors = unit_vectors(50)
    file = write_parquet(
        tmp_path,
        {
            "id": [f"p{i}" for i in range(50)],
            "text": [f"text {i}" for i in range(50)],
            "vector": [list(map(float, v)) for v in vectors],
            "metadata": [json.dumps({"lang": "en" if i % 2 else "fr"}) for i in range(50)],
        },
    )
    import_vectors(store, file, model=MODEL)
    hit = store.vector_search(vectors[3], 1, where={"lang": "en"})[0]
    assert (hit.doc_id, hit.metadata) == ("p3", {"lang": "en"})


def test_a_second_import_replaces_known_ids(tmp_path: Path, store: EmbeddedStore) -> None:
    vectors = unit_vectors(20)
    import_vectors(store, write_npy(tmp_path, vectors), model=MODEL)
    import_vectors(store, write_npy(tmp_path, vectors[::-1].copy()), model=MODEL)
    assert store.stats()["documents"] == 20
    assert store.vector_search(vectors[0], 1)[0].doc_id == "v19"


def refused(store: EmbeddedStore, file: Path, match: str) -> None:
    with pytest.raises(InputError, match=match) as caught:
        import_vectors(store, file, model=MODEL)
    assert "\n" not in str(caught.value)
    assert store.stats()["documents"] == 0  # nothing of a bad file is written


def test_wrong_dimension_is_refused(tmp_path: Path, store: EmbeddedStore) -> None:
    store.set_model("test-model", "r1", 16)
    refused(store, write_npy(tmp_path, unit_vectors(5)), "8-d vectors, but the knowledge base")


def test_default_model_needs_its_own_dimension(tmp_path: Path, store: EmbeddedStore) -> None:
    with pytest.raises(InputError, match="name the model that made them with --model"):
        import_vectors(store, write_npy(tmp_path, unit_vectors(5)))


def test_missing_id_is_refused(tmp_path: Path, store: EmbeddedStore) -> None:
    records = [{"id": "a"}, {"text": "no id here"}, {"id": "c"}]
    refused(store, write_npy(tmp_path, unit_vectors(3), records), "record 1 has no id")


def test_duplicate_id_is_refused(tmp_path: Path, store: EmbeddedStore) -> None:
    records = [{"id": "a"}, {"id": "b"}, {"id": "a"}]
    refused(store, write_npy(tmp_path, unit_vectors(3), records), "'a' appears twice")


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_and_inf_are_refused(tmp_path: Path, store: EmbeddedStore, bad: float) -> None:
    vectors = unit_vectors(4)
    vectors[2, 5] = bad
    refused(store, write_npy(tmp_path, vectors), "vector 2 .* NaN or infinite")


def test_zero_vector_is_refused(tmp_path: Path, store: EmbeddedStore) -> None:
    vectors = unit_vectors(4)
    vectors[1] = 0
    refused(store, write_npy(tmp_path, vectors), "vector 1 .* all zeros")


@pytest.mark.parametrize("lines", [3, 5])
def test_length_mismatch_is_refused(tmp_path: Path, store: EmbeddedStore, lines: int) -> None:
    records = [{"id": f"r{i}"} for i in range(lines)]
    refused(store, write_npy(tmp_path, unit_vectors(4), records), "4 vectors, but .* has")


def test_bad_sidecar_line_is_refused(tmp_path: Path, store: EmbeddedStore) -> None:
    file = write_npy(tmp_path, unit_vectors(2))
    (tmp_path / "vectors.jsonl").write_text('{"id": "a"}\nnot json\n')
    refused(store, file, "line 2 is not valid JSON")


def test_missing_sidecar_and_wrong_shape_are_refused(tmp_path: Path, store: EmbeddedStore) -> None:
    file = write_npy(tmp_path, unit_vectors(2))
    (tmp_path / "vectors.jsonl").unlink()
    refused(store, file, "no sidecar")
    np.save(file, np.zeros(5, dtype=np.float32))
    refused(store, file, "expected a 2-D float array")


def test_parquet_without_ids_or_with_ragged_vectors(tmp_path: Path, store: EmbeddedStore) -> None:
    file = write_parquet(tmp_path, {"vector": [[1.0] * DIM]})
    refused(store, file, "no 'id' column")
    file = write_parquet(tmp_path, {"id": ["a", "b"], "vector": [[1.0] * DIM, [1.0] * 3]})
    refused(store, file, "record 1: vector of 3 values, expected 8")


def test_cli_reports_rate_and_one_line_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = write_npy(tmp_path, unit_vectors(10))
    kb = str(tmp_path / "kb")
    assert main(["import-vectors", kb, str(file), "--model", "test-model"]) == 0
    assert "imported 10 8-d vectors" in capsys.readouterr().out
    vectors = unit_vectors(3)
    vectors[0, 0] = np.nan
    write_npy(tmp_path, vectors)
    assert main(["import-vectors", kb, str(file), "--model", "test-model"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("answerdb: error:") and "NaN" in err and "\n" not in err
