"""The JSON API: every route, its answers and its error codes."""

from __future__ import annotations

import json
import logging

import pytest
from fastapi.testclient import TestClient

from ..kb import CAREERS, CAREERS_QUESTION
from .conftest import KEY


def test_health(client: TestClient) -> None:
    reply = client.get("/health")
    assert reply.status_code == 200
    assert reply.json() == {"status": "ok", "documents": 88, "llm": False}


def test_stats_hide_the_server_path(client: TestClient) -> None:
    data = client.get("/api/stats").json()
    assert data["documents"] == 88 and "path" not in data


def test_search(client: TestClient) -> None:
    hits = client.get("/api/search", params={"q": "isolation forest", "k": 3}).json()
    assert len(hits) == 3
    assert hits[0]["doc_id"] == "anomaly-detection/how-does-an-isolation-forest-find-outliers"


def test_search_with_where(client: TestClient) -> None:
    where = json.dumps({"series": "Video AI"})
    hits = client.get("/api/search", params={"q": "tracking", "where": where}).json()
    assert hits and {h["metadata"]["series"] for h in hits} == {"Video AI"}


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"q": ""}, "q: String should have at least 1 character"),
        ({"q": "x", "mode": "fuzzy"}, "mode: Input should be 'dense', 'keyword' or 'hybrid'"),
        ({"q": "x", "k": 0}, "k: Input should be greater than or equal to 1"),
        ({"q": "x", "where": "{bad"}, "where: not valid JSON"),
        ({"q": "x", "where": "[1]"}, "where: expected a JSON object"),
    ],
)
def test_search_validation_is_422(
    client: TestClient, params: dict[str, object], message: str
) -> None:
    reply = client.get("/api/search", params=params)
    assert reply.status_code == 422
    assert message in reply.json()["detail"]


def test_ask(client: TestClient) -> None:
    data = client.post("/api/ask", json={"question": CAREERS_QUESTION}).json()
    assert "[1]" in data["text"] and not data["generated"]
    assert data["hits"][0]["doc_id"] == CAREERS
    assert data["citations"][0]["url"] == "/q/" + CAREERS
    assert len(data["keep_reading"]) == 5 and data["keep_reading"][0]["url"].startswith("/q/")


@pytest.mark.parametrize(
    "body", [{"question": ""}, {"question": "x", "k": 500}, {}, {"question": "x", "where": 3}]
)
def test_ask_validation_is_422(client: TestClient, body: dict[str, object]) -> None:
    reply = client.post("/api/ask", json=body)
    assert reply.status_code == 422 and reply.json()["detail"]


def test_ask_generate_without_llm_is_422(client: TestClient) -> None:
    reply = client.post("/api/ask", json={"question": "x", "generate": True})
    assert reply.status_code == 422 and "no LLM" in reply.json()["detail"]


def test_article(client: TestClient) -> None:
    data = client.get(f"/api/articles/{CAREERS}").json()
    assert data["question"] == CAREERS_QUESTION and data["metadata"]["series"] == "Computer vision"
    assert data["source"] == "careers-in-computer-vision.md"
    assert len(data["keep_reading"]) == 5


def test_related(client: TestClient) -> None:
    items = client.get(f"/api/related/{CAREERS}", params={"k": 3}).json()
    assert len(items) == 3 and CAREERS not in {i["doc_id"] for i in items}


@pytest.mark.parametrize("route", ["/api/articles/no/such/id", "/api/related/nope"])
def test_unknown_ids_are_404(client: TestClient, route: str) -> None:
    reply = client.get(route)
    assert reply.status_code == 404 and "no article" in reply.json()["detail"]


def test_series(client: TestClient) -> None:
    groups = client.get("/api/series").json()
    assert len(groups) == 8
    vision = next(g for g in groups if g["name"] == "Computer vision")
    assert vision["url"] == "/series/computer-vision" and len(vision["articles"]) == 11


def test_openapi_lists_every_route(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for route in ("/api/ask", "/api/search", "/api/series", "/api/documents", "/api/stats"):
        assert route in paths
    assert client.get("/docs").status_code == 200


def test_access_log_is_json(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="answerdb.access"):
        client.get("/api/search", params={"q": "secret question"})
    entry = json.loads(caplog.records[-1].getMessage())
    assert entry["path"] == "/api/search" and entry["status"] == 200 and entry["ms"] >= 0
    assert "secret" not in caplog.text  # query strings stay out of the log


def test_documents_are_listed_a_page_at_a_time(client: TestClient) -> None:
    first = client.get("/api/documents", params={"limit": 50}).json()
    assert first["total"] == 88 and len(first["items"]) == 50
    assert first["next"] == "/api/documents?offset=50&limit=50"
    rest = client.get(first["next"]).json()
    assert len(rest["items"]) == 38 and rest["next"] is None
    ids = [d["doc_id"] for d in first["items"] + rest["items"]]
    assert len(set(ids)) == 88 and first["items"][0]["url"].startswith("/q/")
    assert client.get("/api/documents", params={"limit": 0}).status_code == 422


def test_one_series(client: TestClient) -> None:
    vision = client.get("/api/series/computer-vision").json()
    assert vision["name"] == "Computer vision" and len(vision["articles"]) == 11
    assert client.get("/api/series/nope").status_code == 404


def test_stream_without_generate_is_refused(client: TestClient) -> None:
    reply = client.post("/api/ask", json={"question": "x", "stream": True})
    assert reply.status_code == 422
    assert reply.json()["detail"].startswith("stream: true needs generate: true")


@pytest.mark.parametrize("route", ["/api/ask", "/api/documents"])
def test_malformed_json_says_so(client: TestClient, route: str) -> None:
    headers = {"content-type": "application/json", "X-API-Key": KEY}
    reply = client.post(route, content=b'{"question": "x",', headers=headers)
    assert reply.status_code == 422
    assert reply.json()["detail"] == "the request body is not valid JSON"


@pytest.mark.parametrize("route", ["/api/ask", "/api/documents"])
def test_a_body_that_is_not_json_is_415(client: TestClient, route: str) -> None:
    headers = {"content-type": "text/plain", "X-API-Key": KEY}
    reply = client.post(route, content=b'{"question": "x"}', headers=headers)
    assert reply.status_code == 415 and "application/json" in reply.json()["detail"]


def test_head_and_favicon(client: TestClient) -> None:
    for path in ("/", "/ask", f"/q/{CAREERS}", "/docs"):
        assert client.head(path).status_code == 200, path
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")
    assert 'rel="icon"' in client.get("/").text


def test_an_over_long_question_is_told_in_plain_words(client: TestClient) -> None:
    reply = client.get("/ask", params={"q": "why " * 600})
    assert reply.status_code == 422
    assert "Your question is 2,400 characters long" in reply.text
    assert "at most 2,000" in reply.text and "query.q" not in reply.text


def test_article_links_keep_dot_segments(write_client: TestClient) -> None:
    doc = {"doc_id": "../../etc/passwd", "question": "Where?", "text": "Dots stay."}
    assert (
        write_client.post("/api/documents", json=doc, headers={"X-API-Key": KEY}).status_code == 201
    )
    page = write_client.get("/").text
    assert 'href="/q/%2E%2E/%2E%2E/etc/passwd"' in page
    assert "Dots stay." in write_client.get("/q/%2E%2E/%2E%2E/etc/passwd").text


def test_ask_says_when_there_is_no_answer(client: TestClient) -> None:
    data = client.post("/api/ask", json={"question": "How do I bake sourdough bread?"}).json()
    assert data["answered"] is False and data["text"] == "" and data["citations"] == []
    assert data["hits"] and data["keep_reading"] == []
    assert client.post("/api/ask", json={"question": CAREERS_QUESTION}).json()["answered"]
