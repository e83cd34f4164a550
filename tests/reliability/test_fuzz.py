"""Fuzzing the query side: `where` filters, keyword queries, and whole searches on a store.

Any input ends in a result or a typed answerdb error, never a crash, a hang or a changed
store. ``ANSWERDB_FUZZ_SCALE`` multiplies the examples (`make stress` uses 20).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from answerdb.db import AnswerDB
from answerdb.errors import AnswerDBError, InputError
from answerdb.store.embedded.fts import match_expression
from answerdb.store.embedded.where_sql import where_sql

from .helpers import make_kb, open_kb

SCALE = int(os.environ.get("ANSWERDB_FUZZ_SCALE", "1"))
# Every code point, lone surrogates included: JSON's "\ud800" reaches the API as one.
ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=80)
FTS_SYNTAX = ['"', "*", "(", ")", ":", "^", "-", "+", "NEAR", "AND", "OR", "NOT", " ", "{", "}"]
QUERY = st.one_of(
    ANY_TEXT,
    st.lists(st.sampled_from([*FTS_SYNTAX, "alpha", "topic3", "é", "\x00"]), max_size=30).map(
        "".join
    ),
)
SCALAR = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    ANY_TEXT,
)
KEY = st.one_of(st.sampled_from(["series", "doc_id", "source", "year", "tags", "a.b"]), ANY_TEXT)
OPERATOR = st.sampled_from(["$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nope", ""])
VALUE = st.recursive(
    SCALAR,
    lambda inner: st.one_of(
        st.lists(inner, max_size=6), st.dictionaries(OPERATOR, inner, max_size=3)
    ),
    max_leaves=12,
)
WHERE = st.one_of(st.none(), st.dictionaries(KEY, VALUE, max_size=4), SCALAR, st.lists(SCALAR))


@pytest.fixture(scope="module")
def fuzz_kb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AnswerDB]:
    path = make_kb(tmp_path_factory.mktemp("fuzz") / "kb")
    with open_kb(path) as db:
        yield db


@settings(max_examples=1000 * SCALE, deadline=None)
@given(where=WHERE)
def test_where_gives_working_sql_or_input_error(where: Any) -> None:
    try:
        sql, params = where_sql(where)
    except InputError:
        return
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE documents(doc_id TEXT, source TEXT, metadata TEXT)")
    db.execute("INSERT INTO documents VALUES('d1', 's', '{\"series\": \"x\", \"tags\": [1]}')")
    db.execute(f"SELECT count(*) FROM documents d WHERE {sql}", params).fetchone()


@settings(max_examples=1000 * SCALE, deadline=None)
@given(query=QUERY)
def test_keyword_query_never_makes_an_fts5_syntax_error(query: str) -> None:
    expression = match_expression(query)
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE f USING fts5(t, tokenize='porter unicode61')")
    db.execute("INSERT INTO f VALUES('alpha beta topic3')")
    if expression:
        db.execute("SELECT count(*) FROM f WHERE f MATCH ?", (expression,)).fetchone()


@settings(
    max_examples=300 * SCALE,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    query=QUERY,
    where=WHERE,
    k=st.one_of(
        st.integers(min_value=-5, max_value=200), st.integers(min_value=-(2**70), max_value=2**70)
    ),
    mode=st.sampled_from(["hybrid", "dense", "keyword", "other"]),
)
def test_any_search_ends_in_hits_or_a_typed_error(
    fuzz_kb: AnswerDB, query: str, where: Any, k: int, mode: str
) -> None:
    try:
        hits = fuzz_kb.search(query, k=k, where=where, mode=mode)
    except AnswerDBError:
        return
    assert len(hits) <= max(k, 0)
    assert all(h.doc_id.startswith("d") for h in hits)


def test_the_fuzzed_store_is_unchanged(fuzz_kb: AnswerDB) -> None:
    report = fuzz_kb.check()
    assert report.ok
    assert report.counts["documents"] == 12 and report.counts["passages"] == 12
