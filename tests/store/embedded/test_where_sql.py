from __future__ import annotations

import json
import sqlite3

import pytest

from answerdb.errors import InputError
from answerdb.store.embedded.where_sql import where_sql

ROWS = [
    ("a", {"series": "Video AI", "tags": ["tracking", "video"], "year": 2021}),
    ("b", {"series": "Vector databases", "tags": ["hnsw"], "year": 2019}),
    ("c", {"series": "Video AI", "tags": [], "year": 2024, "draft": True}),
]


@pytest.fixture
def db() -> sqlite3.Connection:
    con = sqlite3.connect(":memory:")
    con.execute("CREATE TABLE documents(doc_id TEXT, source TEXT, metadata TEXT)")
    con.executemany(
        "INSERT INTO documents VALUES(?, 'x', ?)", [(d, json.dumps(m)) for d, m in ROWS]
    )
    return con


def matching(db: sqlite3.Connection, where: dict[str, object]) -> list[str]:
    sql, params = where_sql(where)
    return [r[0] for r in db.execute(f"SELECT doc_id FROM documents d WHERE {sql}", params)]


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ({}, ["a", "b", "c"]),
        ({"series": "Video AI"}, ["a", "c"]),
        ({"tags": "hnsw"}, ["b"]),
        ({"tags": {"$in": ["video", "hnsw"]}}, ["a", "b"]),
        ({"year": {"$gte": 2021}}, ["a", "c"]),
        ({"year": {"$gt": 2019, "$lt": 2024}}, ["a"]),
        ({"series": "Video AI", "year": {"$lt": 2022}}, ["a"]),
        ({"doc_id": "b"}, ["b"]),
        ({"draft": True}, ["c"]),
        ({"series": {"$ne": "Video AI"}}, ["b"]),
        ({"missing": "x"}, []),
    ],
)
def test_where_matches(
    db: sqlite3.Connection, where: dict[str, object], expected: list[str]
) -> None:
    assert matching(db, where) == expected


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ({"bad key!": 1}, "not a valid metadata key"),
        ({"year": {"$regex": "x"}}, "unknown operator '$regex'"),
        ({"tags": {"$in": []}}, "$in takes a non-empty list"),
        ({"tags": {"$in": "x"}}, "$in takes a non-empty list"),
        ({"series": ["a", "b"]}, "expected a string, number or boolean"),
        ({"year": {}}, "empty operator object"),
    ],
)
def test_bad_where_is_a_clear_error(where: dict[str, object], message: str) -> None:
    with pytest.raises(InputError, match=message.replace("$", r"\$")):
        where_sql(where)


def test_keys_cannot_inject_sql(db: sqlite3.Connection) -> None:
    with pytest.raises(InputError):
        matching(db, {"x') OR 1=1 --": 1})
