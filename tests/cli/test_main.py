from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from answerdb.cli.main import main
from answerdb.embed import DEFAULT_MODEL, STATIC_MODEL, Embedder
from answerdb.store.embedded.store import EmbeddedStore

from ..kb import CAREERS, CAREERS_QUESTION, DEMO


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def cli_kb(tmp_path_factory: pytest.TempPathFactory, demo_kb: Path) -> Path:
    """A private copy of the demo knowledge base, so this module may write to it."""
    path = tmp_path_factory.mktemp("cli") / "kb"
    shutil.copytree(demo_kb, path)
    return path


def test_ask_prints_answer_sources_and_keep_reading(
    cli_kb: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "ask", str(cli_kb), CAREERS_QUESTION)
    assert code == 0
    assert "[1]" in out and "Sources" in out and "Keep Reading" in out
    assert out.count("  • ") == 5


def test_ask_json(cli_kb: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "ask", str(cli_kb), CAREERS_QUESTION, "--json")
    data = json.loads(out)
    assert code == 0 and data["hits"][0]["doc_id"] == CAREERS
    assert len(data["keep_reading"]) == 5


def test_search_with_where_json(cli_kb: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys,
        "search",
        str(cli_kb),
        "tracking objects",
        "--json",
        "-k",
        "3",
        "--where",
        '{"series": "Video AI"}',
    )
    hits = json.loads(out)
    assert code == 0 and len(hits) == 3
    assert {h["metadata"]["series"] for h in hits} == {"Video AI"}


def test_related_stats_series(cli_kb: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "related", str(cli_kb), CAREERS, "--json")[0] == 0
    code, out, _ = run(capsys, "stats", str(cli_kb), "--json")
    assert code == 0 and json.loads(out)["model_model"] == "all-MiniLM-L6-v2"
    code, out, _ = run(capsys, "series", str(cli_kb))
    assert code == 0 and "Computer vision (11)" in out


def test_ingest_delete_compact(
    cli_kb: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    note = tmp_path / "note.md"
    note.write_text("# Gardening\n\nTomatoes need full sun and regular watering.\n")
    code, out, _ = run(capsys, "ingest", str(cli_kb), str(note), "--json")
    assert code == 0 and json.loads(out)["added"] == ["note"]
    code, out, _ = run(capsys, "delete", str(cli_kb), "note")
    assert code == 0 and "deleted 1 of 1" in out
    code, out, _ = run(capsys, "compact", str(cli_kb), "--json")
    assert code == 0 and json.loads(out)["rows_after"] < json.loads(out)["rows_before"]
    assert run(capsys, "reindex", str(cli_kb))[0] == 0


def test_ingest_index_later_says_what_waits_for_reindex(
    cli_kb: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    kb = tmp_path / "kb"
    shutil.copytree(cli_kb, kb)
    # As if the store were past the exact-scan size, and the ingest large.
    monkeypatch.setattr(EmbeddedStore, "graph_rows", lambda store, committed: committed)
    monkeypatch.setattr("answerdb.store.embedded.store.BULK_PASSAGES", 1)
    note = tmp_path / "note.md"
    note.write_text("# Gardening\n\nTomatoes need full sun and regular watering.\n")
    code, out, _ = run(capsys, "ingest", str(kb), str(note), "--index-later")
    rows = json.loads(run(capsys, "stats", str(kb), "--json")[1])["vector_rows"]
    assert code == 0 and f"{rows} vectors wait for the ANN graph" in out
    assert "answerdb reindex" in out
    run(capsys, "reindex", str(kb))
    assert json.loads(run(capsys, "stats", str(kb), "--json")[1])["index_waiting_rows"] == 0


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["ingest", "{kb}", "/no/such/file.md"], "no such file or folder: /no/such/file.md"),
        (["ask", "/no/such/kb", "question?"], "not a knowledge base"),
        (["search", "{kb}", "x", "--where", "{oops"], "--where: not valid JSON"),
        (["search", "{kb}", "x", "--where", '{"a": {"$bad": 1}}'], "unknown operator"),
        (["related", "{kb}", "no-such-article"], "no article with id"),
        (["eval", "/no/such/beir"], "not a BEIR folder"),
    ],
)
def test_errors_are_one_clear_line(
    cli_kb: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, _, err = run(capsys, *[a.replace("{kb}", str(cli_kb)) for a in argv])
    assert code == 2 and message in err
    assert "Traceback" not in err and err.count("\n") == 1


def test_unknown_option_exits_with_usage(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["ask", "kb", "q", "--frobnicate"])
    assert exit_info.value.code == 2
    assert "unrecognized arguments: --frobnicate" in capsys.readouterr().err


def test_demo_folder_is_complete() -> None:
    articles = list(DEMO.rglob("*.md"))
    assert len(articles) >= 80
    assert len({a.parent for a in articles}) >= 8


def test_fusion_options_reach_the_search(cli_kb: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["search", str(cli_kb), "hnsw graph index", "--json", "-k", "3"]
    code, out, _ = run(capsys, *argv, "--fusion", "rrf", "--rrf-k", "10")
    hits = json.loads(out)
    # Reciprocal rank fusion scores are at most the sum of the weights over k + 1.
    assert code == 0 and hits and all(h["score"] <= 2 / 11 for h in hits)
    code, out, _ = run(capsys, *argv, "--dense-weight", "1", "--keyword-weight", "0")
    dense = json.loads(out)
    code, out, _ = run(
        capsys, "search", str(cli_kb), "hnsw graph index", "--json", "-k", "3", "--mode", "dense"
    )
    assert [h["doc_id"] for h in dense] == [h["doc_id"] for h in json.loads(out)]
    dense_argv = [*argv, "--mode", "dense"]
    code, out, _ = run(capsys, *dense_argv, "--crowding-weight", "0")
    raw = json.loads(out)
    # Without the discount the scores are the plain inner products: higher.
    assert code == 0 and raw[0]["score"] > json.loads(run(capsys, *dense_argv)[1])[0]["score"]
    question = ["search", str(cli_kb), "What is an HNSW graph index?", "--json"]
    shifted = json.loads(run(capsys, *question)[1])
    code, out, _ = run(capsys, *question, "--question-shift", "0")
    assert code == 0 and [h["score"] for h in json.loads(out)] != [h["score"] for h in shifted]


def test_ingest_model_is_recorded_and_followed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], static_model: Embedder
) -> None:
    kb = str(tmp_path / "kb")
    code, out, _ = run(capsys, "ingest", kb, str(DEMO / "computer-vision"), "--model", STATIC_MODEL)
    assert code == 0
    code, out, _ = run(capsys, "stats", kb, "--json")
    assert code == 0 and json.loads(out)["model_model"] == STATIC_MODEL
    code, out, _ = run(capsys, "search", kb, "careers in computer vision", "--json", "-k", "3")
    assert code == 0 and json.loads(out)[0]["doc_id"].startswith("careers-in-computer-vision")
    note = tmp_path / "note.md"
    note.write_text("# Gardening\n\nTomatoes need full sun.\n")
    code, _, err = run(capsys, "ingest", kb, str(note), "--model", DEFAULT_MODEL)
    assert code == 2 and f"built with {STATIC_MODEL}" in err


def test_search_with_a_reranker_from_the_shell(
    cli_kb: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = "tests.retrieve.test_rerank:Backwards"
    plain = json.loads(run(capsys, "search", str(cli_kb), "HNSW graph", "-k", "3", "--json")[1])
    code, out, _ = run(
        capsys,
        "search",
        str(cli_kb),
        "HNSW graph",
        "-k",
        "3",
        "--json",
        "--mode",
        "hybrid+rerank",
        "--reranker",
        spec,
    )
    reranked = json.loads(out)
    assert code == 0 and len(reranked) == 3
    assert reranked[0]["row"] != plain[0]["row"]
    code, _, err = run(capsys, "search", str(cli_kb), "q", "--mode", "hybrid+rerank")
    assert code == 2 and "needs a re-ranker" in err
    code, _, err = run(capsys, "search", str(cli_kb), "q", "--reranker", "nope:Thing")
    assert code == 2 and "--reranker 'nope:Thing': cannot load it" in err


def test_one_doc_id_twice_in_one_ingest_keeps_the_last(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "d.jsonl"
    data.write_text(
        '{"_id":"x","text":"First version about ocelots."}\n'
        '{"_id":"x","text":"Second version about lynxes."}\n',
        encoding="utf-8",
    )
    kb = str(tmp_path / "kb")
    code, out, _ = run(capsys, "ingest", kb, str(data), "--model", STATIC_MODEL)
    assert code == 0 and "added 1 document" in out and "repeated" in out
    assert run(capsys, "check", kb)[0] == 0
    code, out, _ = run(capsys, "search", kb, "ocelots lynxes", "--mode", "keyword", "--json")
    assert [h["text"] for h in json.loads(out)] == ["Second version about lynxes."]


@pytest.mark.parametrize("command", ["delete", "compact", "stats", "check", "reindex"])
def test_a_mistyped_path_creates_no_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    kb = tmp_path / "typo"
    extra = ["some-id"] if command == "delete" else []
    code, _, err = run(capsys, command, str(kb), *extra)
    assert code == 2 and "not a knowledge base" in err and len(err.strip().splitlines()) == 1
    assert not kb.exists()


@pytest.mark.parametrize(
    "argv",
    [
        ["ask", "Q?", "-k", "-1"],
        ["ask", "Q?", "-k", "0"],
        ["related", "some-id", "-k", "-1"],
        ["search", "Q?", "-k", "-1"],
    ],
)
def test_result_counts_are_checked_by_every_command(
    cli_kb: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    code, _, err = run(capsys, argv[0], str(cli_kb), *argv[1:])
    assert code == 2 and "k must be a whole number" in err


def test_a_reingest_summarises_the_unchanged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kb = str(tmp_path / "kb")
    assert run(capsys, "ingest", kb, str(DEMO), "--model", STATIC_MODEL)[0] == 0
    code, out, _ = run(capsys, "ingest", kb, str(DEMO))
    assert code == 0 and "unchanged (already stored)" in out
    assert len(out.strip().splitlines()) == 2
