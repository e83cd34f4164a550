from __future__ import annotations

import pytest

from answerdb.errors import InputError
from answerdb.store.uri import StoreURI, parse_store_uri


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("kb/", StoreURI("embedded", "kb/")),
        ("file:/data/kb", StoreURI("embedded", "/data/kb")),
        ("milvus-lite:kb.db", StoreURI("milvus-lite", "kb.db", "answerdb")),
        ("milvus-lite:/x/kb.db#faq", StoreURI("milvus-lite", "/x/kb.db", "faq")),
        ("milvus://db.local:19531/faq", StoreURI("milvus", "http://db.local:19531", "faq")),
        ("milvus://db.local", StoreURI("milvus", "http://db.local:19530", "answerdb")),
        (
            "milvus+https://me:p%40ss@db.local/faq",
            StoreURI("milvus", "https://db.local:19530", "faq", "me:p@ss"),
        ),
    ],
)
def test_store_uris(text: str, expected: StoreURI) -> None:
    assert parse_store_uri(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("milvus-lite:", "expected milvus-lite:FILE.db"),
        ("milvus-lite:kb.sqlite", "must end in .db"),
        ("milvus-lite:kb.db#9lives", "not a valid collection name"),
        ("milvus://host:port/kb", "port is not a number"),
        ("milvus:///kb", "no host"),
        ("milvusx://h/kb", "unknown scheme"),
        ("milvus://h/a-b", "not a valid collection name"),
    ],
)
def test_malformed_uris_are_clear_errors(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_store_uri(text)
