"""Filters and keyword queries that cannot mean anything are refused or find nothing, in one
line: never a silent empty result for a type mistake, never hits scored 0."""

from __future__ import annotations

import json

import pytest

from answerdb.cli.main import main

RECORDS = [
    {"_id": "old", "title": "Old tides", "text": "Tides rose in the old harbour.", "year": 1990},
    {"_id": "new", "title": "New tides", "text": "Tides rise in the new harbour.", "year": 2021},
]


@pytest.fixture(scope="module")
def kb(tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp("filters")
    data = folder / "records.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in RECORDS), encoding="utf-8")
    path = folder / "kb"
    assert main(["ingest", str(path), str(data)]) == 0
    return str(path)


def search(kb: str, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["search", kb, *argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    ("where", "says"),
    [
        ('{"year": {"$gte": NaN}}', "not a finite number"),
        ('{"year": {"$lt": 1e999}}', "not a finite number"),
        ('{"year": {"$gte": "abc"}}', "year holds numbers; compare it with a number"),
        ('{"year": {"$gt": true}}', "booleans have no order"),
        ('{"year": {"$gte": 2000, "$lt": "z"}}', "numbers or with strings, not both"),
        ('{"doc_id": {"$gt": 5}}', "doc_id is text"),
    ],
)
@pytest.mark.parametrize("mode", ["dense", "keyword", "hybrid"])
def test_a_filter_that_cannot_mean_anything_is_refused_in_one_line(
    kb: str, capsys: pytest.CaptureFixture[str], where: str, says: str, mode: str
) -> None:
    code, _, err = search(kb, capsys, "tides", "--where", where, "--mode", mode)
    assert code == 2 and says in err and len(err.strip().splitlines()) == 1, err


def test_range_filters_of_the_fields_type_still_work(
    kb: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = search(kb, capsys, "tides", "--json", "--where", '{"year": {"$gte": 2000}}')
    assert code == 0 and [hit["doc_id"] for hit in json.loads(out)] == ["new"]
    code, out, _ = search(kb, capsys, "tides", "--json", "--where", '{"year": {"$gte": 3000}}')
    assert code == 0 and json.loads(out) == []  # a number against numbers: simply no match
    code, out, _ = search(kb, capsys, "tides", "--json", "--where", '{"doc_id": {"$gte": "o"}}')
    assert code == 0 and [hit["doc_id"] for hit in json.loads(out)] == ["old"]


@pytest.mark.parametrize("query", ["AND", "OR NOT", "the and of", "NEAR AND"])
def test_a_query_of_operators_and_stop_words_finds_no_hits_scored_0(
    kb: str, capsys: pytest.CaptureFixture[str], query: str
) -> None:
    code, out, _ = search(kb, capsys, query, "--json", "--mode", "keyword")
    assert code == 0
    assert all(hit["score"] > 1e-3 for hit in json.loads(out))
