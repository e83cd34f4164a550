from __future__ import annotations

import json
from pathlib import Path

import pytest

import answerdb
from answerdb.cli.main import main
from answerdb.embed import DEFAULT_MODEL, STATIC_MODEL, Embedder
from answerdb.errors import InputError
from answerdb.tools.evaluate import cache_key, load_beir, mrr_at, ndcg_at, recall_at


def test_metrics_on_hand_made_rankings() -> None:
    relevant = {"a": 1, "b": 1}
    assert ndcg_at(["a", "b", "c"], relevant) == pytest.approx(1.0)
    assert ndcg_at(["c", "a"], {"a": 1}) == pytest.approx(1 / 1.5849625, rel=1e-6)
    assert recall_at(["a", "x"], relevant) == 0.5
    assert mrr_at(["x", "y", "b"], relevant) == pytest.approx(1 / 3)
    assert mrr_at(["x"] * 10 + ["a"], relevant) == 0.0


def beir(folder: Path) -> Path:
    (folder / "qrels").mkdir(parents=True)
    corpus = [
        {"_id": "d1", "title": "Tomatoes", "text": "Tomatoes need full sun and warm soil."},
        {"_id": "d2", "title": "Cacti", "text": "Cacti store water and survive droughts."},
        {"_id": "d3", "title": "Ferns", "text": "Ferns like shade and moist air."},
        {"_id": "q2", "title": "", "text": "Which plant grows best in the shade?"},
    ]
    (folder / "corpus.jsonl").write_text("\n".join(json.dumps(d) for d in corpus) + "\n")
    queries = [
        {"_id": "q1", "text": "What do tomatoes need to grow?"},
        {"_id": "q2", "text": "Which plant grows best in the shade?"},
    ]
    (folder / "queries.jsonl").write_text("\n".join(json.dumps(q) for q in queries) + "\n")
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td3\t1\n")
    return folder


def test_eval_builds_once_and_scores_every_mode(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = beir(tmp_path / "plants")
    kb = tmp_path / "kb"
    assert main(["eval", str(data), "--kb", str(kb), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    modes = {r["mode"]: r for r in result["results"]}
    assert set(modes) == {"dense", "keyword", "hybrid"}
    # q2's own id is in the corpus, as in ArguAna: it must not count as a hit.
    assert modes["dense"]["ndcg@10"] == pytest.approx(1.0)
    before = (kb / "vectors-g0.int8").stat().st_mtime_ns
    assert main(["eval", str(data), "--kb", str(kb), "--mode", "keyword"]) == 0
    assert "keyword" in capsys.readouterr().out
    assert (kb / "vectors-g0.int8").stat().st_mtime_ns == before


def test_eval_with_a_reranker_adds_its_row(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = beir(tmp_path / "plants")
    argv = ["eval", str(data), "--kb", str(tmp_path / "kb"), "--json"]
    assert main([*argv, "--reranker", "tests.retrieve.test_rerank:Backwards"]) == 0
    modes = {r["mode"]: r for r in json.loads(capsys.readouterr().out)["results"]}
    assert list(modes) == ["dense", "keyword", "hybrid", "hybrid+rerank"]
    # The re-ranker reverses the hits, so the relevant document falls from first place.
    assert modes["hybrid+rerank"]["p@1"] < modes["hybrid"]["p@1"] == 1.0


def test_load_beir_names_the_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"queries\.jsonl is missing"):
        (tmp_path / "corpus.jsonl").write_text("")
        load_beir(tmp_path)


def test_saved_run_compares_by_mode(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = beir(tmp_path / "plants")
    kb, saved = tmp_path / "kb", tmp_path / "run.json"
    assert main(["eval", str(data), "--kb", str(kb), "--save", str(saved)]) == 0
    capsys.readouterr()
    assert (
        main(
            [
                "eval",
                str(data),
                "--kb",
                str(kb),
                "--mode",
                "dense",
                "--json",
                "--compare",
                str(saved),
            ]
        )
        == 0
    )
    row = json.loads(capsys.readouterr().out)["results"][0]
    assert row["mode"] == "dense" and row["Δndcg@10"] == 0.0 and "p@1" in row
    saved.write_text("{}")
    assert main(["eval", str(data), "--kb", str(kb), "--compare", str(saved)]) == 2
    assert "not a run saved by" in capsys.readouterr().err


def test_eval_builds_with_the_model_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], static_model: Embedder
) -> None:
    data = beir(tmp_path / "plants")
    kb = tmp_path / "kb"
    argv = ["eval", str(data), "--kb", str(kb), "--mode", "dense", "--json"]
    assert main([*argv, "--model", STATIC_MODEL]) == 0
    assert json.loads(capsys.readouterr().out)["results"][0]["ndcg@10"] >= 0.5
    with answerdb.open(kb, readonly=True) as db:
        assert db.stats()["model_model"] == STATIC_MODEL
    assert main(argv) == 0  # a named --kb follows the model it records
    capsys.readouterr()


def test_cache_key_names_the_model(tmp_path: Path) -> None:
    data = load_beir(beir(tmp_path / "plants"))
    assert cache_key(data, STATIC_MODEL, "int8") != cache_key(data, DEFAULT_MODEL, "int8")
    # Caches built before models had names stay valid for the default model.
    assert cache_key(data, DEFAULT_MODEL, "int8") == cache_key(data, "default", "int8")
