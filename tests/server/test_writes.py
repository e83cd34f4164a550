"""Writes over HTTP: keys, uploads, size limits, deletes, escaping, readers during an ingest."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from answerdb.embed import Embedder
from answerdb.server.links import doc_url

from ..kb import CAREERS
from .conftest import KEY, live_server, make_app
from .openapi_check import SchemaCheckedClient

AUTH = {"Authorization": f"Bearer {KEY}"}
ARTICLE = {"doc_id": "notes/tides", "question": "What causes tides?", "text": "The moon pulls."}


def test_write_without_key_is_401(write_client: TestClient) -> None:
    reply = write_client.post("/api/documents", json=ARTICLE)
    assert reply.status_code == 401 and "API key" in reply.json()["detail"]
    assert write_client.delete(f"/api/documents/{CAREERS}").status_code == 401


def test_write_with_wrong_key_is_401(write_client: TestClient) -> None:
    reply = write_client.post("/api/documents", json=ARTICLE, headers={"X-API-Key": "nope"})
    assert reply.status_code == 401


def test_add_json_document_then_find_it(write_client: TestClient) -> None:
    reply = write_client.post("/api/documents", json=ARTICLE, headers=AUTH)
    assert reply.status_code == 201 and reply.json()["added"] == ["notes/tides"]
    hits = write_client.get("/api/search", params={"q": "tides moon"}).json()
    assert hits[0]["doc_id"] == "notes/tides"


def test_upload_file_with_x_api_key(write_client: TestClient) -> None:
    text = b"---\nquestion: How do otters sleep?\n---\nOtters hold hands while they sleep.\n"
    # The name tries to climb out of any folder: only its base name is used, never a path.
    files = {"file": ("../../etc/otters.md", text, "text/markdown")}
    reply = write_client.post("/api/documents", files=files, headers={"X-API-Key": KEY})
    assert reply.status_code == 201 and reply.json()["added"] == ["upload/otters"]
    data = write_client.get("/api/articles/upload/otters").json()
    assert data["question"] == "How do otters sleep?"


def test_upload_unsupported_format_is_422(write_client: TestClient) -> None:
    files = {"file": ("tool.exe", b"MZ\x00", "application/octet-stream")}
    reply = write_client.post("/api/documents", files=files, headers=AUTH)
    assert reply.status_code == 422 and "unsupported format" in reply.json()["detail"]


def test_bad_json_document_is_422(write_client: TestClient) -> None:
    reply = write_client.post("/api/documents", json={"text": ""}, headers=AUTH)
    assert reply.status_code == 422 and reply.json()["detail"].startswith("text:")


def test_oversize_upload_is_413(kb_copy: Path, minilm: Embedder) -> None:
    app = make_app(kb_copy, minilm, max_body=1000)
    with SchemaCheckedClient(app) as client:
        files = {"file": ("big.txt", b"word " * 1000, "text/plain")}
        reply = client.post("/api/documents", files=files, headers=AUTH)
    app.state.kb.close()
    assert reply.status_code == 413 and "limit" in reply.json()["detail"]


def test_delete(write_client: TestClient) -> None:
    assert write_client.delete("/api/documents/no/such", headers=AUTH).status_code == 404
    reply = write_client.delete(f"/api/documents/{CAREERS}", headers=AUTH)
    assert reply.status_code == 200 and reply.json() == {"deleted": CAREERS}
    assert write_client.get(f"/api/articles/{CAREERS}").status_code == 404
    assert write_client.get(f"/q/{CAREERS}").status_code == 404


def test_writes_are_off_without_a_configured_key(kb_copy: Path, minilm: Embedder) -> None:
    app = make_app(kb_copy, minilm, api_key=None)
    with SchemaCheckedClient(app) as client:
        reply = client.post("/api/documents", json=ARTICLE, headers=AUTH)
    app.state.kb.close()
    assert reply.status_code == 403 and "ANSWERDB_API_KEY" in reply.json()["detail"]


def test_protected_reads_need_the_key(kb_copy: Path, minilm: Embedder) -> None:
    app = make_app(kb_copy, minilm, protect_reads=True)
    with SchemaCheckedClient(app) as client:
        assert client.get("/api/search", params={"q": "x"}).status_code == 401
        assert client.get("/").status_code == 401
        reply = client.get("/api/search", params={"q": "x"}, headers=AUTH)
    app.state.kb.close()
    assert reply.status_code == 200


def test_script_in_a_document_shows_as_text(write_client: TestClient) -> None:
    evil = {
        "doc_id": "evil/<b>id</b>",
        "question": "<img src=x onerror=alert(1)>?",
        "text": "<script>alert('owned')</script> Tides follow the moon.",
    }
    assert write_client.post("/api/documents", json=evil, headers=AUTH).status_code == 201
    page = write_client.get("/q/evil/%3Cb%3Eid%3C/b%3E").text
    # The article's text is Markdown, whose raw HTML is shown as text.
    assert "<script>alert" not in page and "&lt;script&gt;alert('owned')&lt;/script&gt;" in page
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;?" in page
    ask = write_client.get("/ask", params={"q": "<script>alert(2)</script> tides moon"}).text
    assert "<script>alert(2)" not in ask and "&lt;script&gt;alert(2)" in ask


def test_readers_are_served_while_an_ingest_runs(kb_copy: Path, minilm: Embedder) -> None:
    app = make_app(kb_copy, minilm)
    statuses: list[int] = []
    with live_server(app) as url, httpx.Client(base_url=url, timeout=60) as http:
        writing = threading.Event()

        def ingest() -> None:
            writing.set()
            for i in range(12):
                doc = {"doc_id": f"bulk/{i}", "text": f"Article {i} about sea tides. " * 40}
                statuses.append(http.post("/api/documents", json=doc, headers=AUTH).status_code)

        def read(i: int) -> int:
            writing.wait()
            if i % 2:
                return http.get("/api/search", params={"q": f"tides {i}"}).status_code
            return http.post("/api/ask", json={"question": "What is an anomaly?"}).status_code

        writer = threading.Thread(target=ingest)
        writer.start()
        with ThreadPoolExecutor(8) as pool:
            reads = list(pool.map(read, range(48)))
        writer.join()
        total = http.get("/api/stats").json()["documents"]
    app.state.kb.close()
    assert reads == [200] * 48 and statuses == [201] * 12
    assert total == 88 + 12


@pytest.mark.parametrize("doc_id", ["odd id #1?", "100%/sure", "a/b/c"])
def test_article_urls_round_trip_odd_ids(write_client: TestClient, doc_id: str) -> None:
    doc = {"doc_id": doc_id, "question": f"What about {doc_id}?", "text": "Words worth reading."}
    assert write_client.post("/api/documents", json=doc, headers=AUTH).status_code == 201
    page = write_client.get(doc_url(doc_id))
    assert page.status_code == 200 and "Words worth reading." in page.text
