"""The reader pool opens any store URI through the facade: a folder or Milvus, served alike."""

from __future__ import annotations

from pathlib import Path

import pytest

import answerdb
from answerdb.server import KnowledgeBase, ServerSettings, create_app
from answerdb.types import Document

from ..conftest import HashEmbedder
from ..store.conftest import BACKENDS, uri_for
from .openapi_check import SchemaCheckedClient

DOCS = [
    Document(doc_id="ocelot", text="Ocelots are wild cats of the Americas.", source="t"),
    Document(doc_id="lynx", text="Lynxes hunt snowshoe hares in the north.", source="t"),
]


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_pool_serves_every_backend(
    backend: str, tmp_path: Path, hash_embedder: HashEmbedder
) -> None:
    uri = uri_for(backend, tmp_path)
    with answerdb.open(uri, embedder=hash_embedder) as db:
        db.add(DOCS)
    kb = KnowledgeBase.open(uri, readers=2, embedder=hash_embedder, create=False)
    app = create_app(kb, ServerSettings(api_key=None, llm=None, readers=2))
    try:
        with SchemaCheckedClient(app) as client:
            hits = client.get("/api/search", params={"q": "wild cats", "mode": "keyword"}).json()
            assert hits[0]["doc_id"] == "ocelot"
            assert client.get("/health").json()["documents"] == 2
            assert "Ocelots" in client.get("/").text + client.get("/q/ocelot").text
    finally:
        kb.close()


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_pool_refuses_a_store_that_is_not_there(
    backend: str, tmp_path: Path, hash_embedder: HashEmbedder
) -> None:
    uri = uri_for(backend, tmp_path)
    with pytest.raises(answerdb.InputError, match="not a knowledge base"):
        KnowledgeBase.open(uri, readers=1, embedder=hash_embedder, create=False)
    assert not (tmp_path / "kb").exists()
