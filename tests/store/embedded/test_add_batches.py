"""One ``Store.add`` batch that names a document id more than once keeps its last version, with
that version's passages and vectors alone (the facade already does so per ingest; the store
must not break when a caller does not)."""

from __future__ import annotations

from contextlib import closing

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from answerdb.store.embedded.check import check_store
from answerdb.store.embedded.store import EmbeddedStore
from answerdb.types import Document, Passage
from tests.conftest import HashEmbedder

# (doc id, how many passages) for each version in one batch, in order.
Versions = list[tuple[str, int]]
VERSIONS = st.lists(st.tuples(st.sampled_from("abc"), st.integers(1, 3)), min_size=1, max_size=8)


def _batch(versions: list[tuple[str, int]], tag: str) -> tuple[list[Document], list[Passage]]:
    docs, passages = [], []
    for number, (doc_id, count) in enumerate(versions):
        texts = [f"{doc_id} version {tag}{number} part {j} words" for j in range(count)]
        docs.append(Document(doc_id, "\n\n".join(texts), source=f"{doc_id}.md"))
        passages += [Passage(doc_id, j, text) for j, text in enumerate(texts)]
    return docs, passages


def _expected(docs: list[Document]) -> dict[str, Document]:
    return {doc.doc_id: doc for doc in docs}  # the last version of each id


@settings(max_examples=40, deadline=None)
@given(first=VERSIONS, second=VERSIONS)
def test_repeated_ids_in_one_batch_keep_the_last_version(
    tmp_path_factory: pytest.TempPathFactory,
    first: list[tuple[str, int]],
    second: list[tuple[str, int]],
) -> None:
    embedder = HashEmbedder()
    path = tmp_path_factory.mktemp("kb") / "kb"
    with closing(EmbeddedStore(path)) as store:
        store.set_model(embedder.name, embedder.revision, embedder.dim)
        expected: dict[str, Document] = {}
        for versions, tag in ((first, "x"), (second, "y")):  # the second replaces the first
            docs, passages = _batch(versions, tag)
            vectors = embedder.embed([p.text for p in passages])
            store.add([(doc, f"hash-{doc.text}") for doc in docs], passages, vectors)
            expected.update(_expected(docs))
        assert sorted(doc.doc_id for doc in store.documents()) == sorted(expected)
        for doc_id, doc in expected.items():
            stored = store.document(doc_id)
            assert stored is not None and stored.text == doc.text
            texts = [p.text for p in store.passages(doc_id)]
            assert texts == doc.text.split("\n\n")
            vectors = store.passage_vectors(doc_id)
            assert np.abs(vectors - embedder.embed(texts)).max() < 0.02
            assert store.has_hash(f"hash-{doc.text}")
        assert check_store(store).ok
