"""Fuzzing the query side: `where` filters, keyword queries, and whole searches on a store.

Any input ends in a result or a typed answerdb error, never a crash, a hang or a changed
store. ``ANSWERDB_FUZZ_SCALE`` multiplies the examples (`make stress` uses 20).
"""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from answerdb.cli.main import main
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
def fuzz_kb_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_kb(tmp_path_factory.mktemp("fuzz") / "kb")


@pytest.fixture(scope="module")
def fuzz_kb(fuzz_kb_path: Path) -> Iterator[AnswerDB]:
    with open_kb(fuzz_kb_path) as db:
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


K = st.one_of(
    st.integers(min_value=-5, max_value=200), st.integers(min_value=-(2**70), max_value=2**70)
)
NUMBER = re.compile(r"\[(\d+)\]")


@settings(
    max_examples=150 * SCALE,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(question=QUERY, where=WHERE, k=K, mode=st.sampled_from(["hybrid", "dense", "keyword", "x"]))
def test_any_ask_ends_in_an_answer_or_a_typed_error(
    fuzz_kb: AnswerDB, question: str, where: Any, k: int, mode: str
) -> None:
    try:
        answer = fuzz_kb.ask(question, k=k, where=where, mode=mode)
    except AnswerDBError:
        return
    assert k >= 1 and len(answer.hits) <= k
    cited = {c.number for c in answer.citations}
    assert {int(n) for n in NUMBER.findall(answer.text)} <= cited
    assert answer.answered or (answer.text == "" and not answer.citations)


@settings(
    max_examples=150 * SCALE,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(doc_id=st.one_of(st.sampled_from(["d0", "d3", "d11"]), ANY_TEXT), k=K)
def test_any_related_ends_in_articles_or_a_typed_error(
    fuzz_kb: AnswerDB, doc_id: str, k: int
) -> None:
    try:
        items = fuzz_kb.related(doc_id, k=k)
    except AnswerDBError:
        return
    assert k >= 1 and len(items) <= k and doc_id not in {i.doc_id for i in items}


COMMANDS = ["ask", "search", "related", "stats", "series", "check", "delete", "compact"]
ARGUMENT = st.one_of(
    st.sampled_from(["-k", "--mode", "--where", "--json", "--min-relevance", "--store", "d3"]),
    st.sampled_from(["-1", "0", "5", "1e999", "nan", "keyword", "{}", '{"year": 1}', "--"]),
    ANY_TEXT.filter(lambda text: "\x00" not in text),
)


@settings(
    max_examples=100 * SCALE,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(command=st.sampled_from(COMMANDS), arguments=st.lists(ARGUMENT, max_size=5))
def test_any_command_line_ends_in_a_status_never_a_traceback(
    fuzz_kb_path: Path, command: str, arguments: list[str]
) -> None:
    if command in ("delete", "compact"):  # writes: on a throw-away copy's path, never created
        path = str(fuzz_kb_path.parent / "absent")
    else:
        path = str(fuzz_kb_path)
    try:
        status = main([command, path, *arguments])
    except SystemExit as exc:  # argparse's usage error
        status = int(exc.code or 0)
    assert status in (0, 1, 2)


def test_the_fuzzed_store_is_unchanged(fuzz_kb: AnswerDB) -> None:
    report = fuzz_kb.check()
    assert report.ok
    assert report.counts["documents"] == 12 and report.counts["passages"] == 12
