from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings

from answerdb.errors import InputError
from answerdb.store.embedded.store import EmbeddedStore
from answerdb.store.embedded.where_sql import where_sql
from answerdb.types import Document, Passage
from tests.conftest import HashEmbedder
from tests.reliability.test_fuzz import WHERE

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


CASES = pytest.mark.parametrize(
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


@CASES
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


@pytest.fixture(scope="module")
def catalog_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedStore]:
    """The same documents in a real store: the SQL runs against the catalog's own schema."""
    embedder = HashEmbedder()
    store = EmbeddedStore(tmp_path_factory.mktemp("where") / "kb")
    store.set_model(embedder.name, embedder.revision, embedder.dim)
    docs = [(Document(d, f"Text of {d}.", source=f"{d}.md", metadata=m), d) for d, m in ROWS]
    passages = [Passage(d, 0, f"Text of {d}.") for d, _ in ROWS]
    store.add(docs, passages, embedder.embed([p.text for p in passages]))
    yield store
    store.close()


@CASES
def test_where_matches_on_the_real_catalog(
    catalog_store: EmbeddedStore, where: dict[str, object], expected: list[str]
) -> None:
    rows = catalog_store.catalog.live_rows(*where_sql(where))
    assert sorted(catalog_store.catalog.doc_ids([(int(r), 0.0) for r in rows])) == sorted(
        (doc, 0.0) for doc in expected
    )
    query = HashEmbedder().embed_query("text")
    found = {hit.doc_id for hit in catalog_store.vector_search(query, 10, where or None)}
    assert found == set(expected)
    keyword = {hit.doc_id for hit in catalog_store.keyword_search("text", 10, where or None)}
    assert keyword == set(expected)


@settings(max_examples=300, deadline=None)
@given(where=WHERE)
def test_any_where_runs_on_the_real_catalog_or_is_refused(
    catalog_store: EmbeddedStore, where: Any
) -> None:
    try:
        sql, params = where_sql(where)
    except InputError:
        return
    rows = catalog_store.catalog.live_rows(sql, params)
    assert set(rows.tolist()) <= {0, 1, 2}
    try:
        catalog_store.keyword_search("text", 10, where)
    except InputError as exc:  # a range of a kind the field never holds
        assert "compare it with" in str(exc)
