"""`--store URI` on the commands and `answerdb migrate`, through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("pymilvus", reason="Milvus tests need the milvus extra")

from answerdb.cli.main import _store_as_path, main

from ..conftest import HashEmbedder
from ..tools.test_migrate import build


def test_store_option_takes_the_place_of_path() -> None:
    assert _store_as_path(["ask", "--store", "milvus-lite:x.db", "q?", "-k", "3"]) == [
        "ask",
        "milvus-lite:x.db",
        "q?",
        "-k",
        "3",
    ]
    assert _store_as_path(["ingest", "--store=kb/", "a", "b"]) == ["ingest", "kb/", "a", "b"]
    assert _store_as_path(["eval", "set/", "--store", "u"]) == ["eval", "set/", "--store", "u"]


def test_migrate_then_stats_through_the_cli(
    tmp_path: Path, hash_embedder: HashEmbedder, capsys: pytest.CaptureFixture[str]
) -> None:
    build(tmp_path / "kb", hash_embedder, count=5)
    uri = f"milvus-lite:{tmp_path / 'm.db'}#copy"
    assert main(["migrate", str(tmp_path / "kb"), uri, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["copied"] == 5
    assert main(["stats", "--store", uri, "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert (stats["documents"], stats["backend"]) == (5, "milvus-lite")


def test_bad_store_uri_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["stats", "--store", "milvus-lite:kb.sqlite"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "must end in .db" in err
