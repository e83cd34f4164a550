"""The HTML pages without a browser, and generated answers over the API and pages."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from answerdb.embed import Embedder
from answerdb.server.links import doc_url

from ..kb import CAREERS, CAREERS_QUESTION
from .conftest import KEY, make_app
from .fake_llm import FakeLLM, running
from .openapi_check import SchemaCheckedClient


def test_home_has_search_series_and_recent(client: TestClient) -> None:
    page = client.get("/").text
    assert '<form class="search big" action="/ask" method="get"' in page
    assert page.count('<details class="series"') == 8
    assert 'href="/series/computer-vision"' in page
    assert "Recently added" in page and page.count("/q/") > 88


def test_article_page(client: TestClient) -> None:
    page = client.get(f"/q/{CAREERS}").text
    assert f"<h1>{CAREERS_QUESTION}</h1>" in page
    keep = page.split('id="keep-reading"')[1].split("</section>")[0]
    assert keep.count('<li class="card">') == 5
    assert 'Learn series: <a href="/series/computer-vision">Computer vision</a>' in page
    assert 'aria-current="page"' in page


def test_ask_page_links_citations_to_sources(client: TestClient) -> None:
    page = client.get("/ask", params={"q": CAREERS_QUESTION}).text
    assert '<a class="cite" href="#source-1">[1]</a>' in page
    assert 'id="source-1"' in page and "Keep Reading" in page
    assert "ask.js" not in page  # no LLM: nothing to stream


def test_empty_ask_page(client: TestClient) -> None:
    assert "Type a question" in client.get("/ask").text


def test_series_page_and_unknown_series(client: TestClient) -> None:
    page = client.get("/series/anomaly-detection").text
    assert "<h1>Anomaly detection</h1>" in page and page.count('<li><a href="/q/') == 11
    missing = client.get("/series/nope")
    assert missing.status_code == 404 and "text/html" in missing.headers["content-type"]


def test_unknown_article_is_an_html_404(client: TestClient) -> None:
    for path in ("/q/no/such/article", "/q/../../etc/passwd"):
        reply = client.get(path)
        assert reply.status_code == 404 and "Back to the home page" in reply.text


def test_static_files(client: TestClient) -> None:
    assert client.get("/static/style.css").status_code == 200
    assert client.get("/static/../app.py").status_code == 404


def test_doc_url_quotes_each_segment() -> None:
    assert doc_url("a/b c#d?") == "/q/a/b%20c%23d%3F"
    # A browser resolves "." and ".." segments away; encoded, they stay part of the id.
    assert doc_url("../../etc/passwd") == "/q/%2E%2E/%2E%2E/etc/passwd"
    assert doc_url("a/./b") == "/q/a/%2E/b"


@pytest.fixture
def llm_client(demo_kb: Path, minilm: Embedder) -> Iterator[tuple[TestClient, FakeLLM]]:
    from answerdb.answer.generate import LLMConfig

    with running() as llm:
        config = LLMConfig(url=llm.url, model="fake", timeout=10)
        app = make_app(demo_kb, minilm, llm=config)
        with SchemaCheckedClient(app) as client:
            yield client, llm
        app.state.kb.close()


def test_api_generated_answer(llm_client: tuple[TestClient, FakeLLM]) -> None:
    client, llm = llm_client
    data = client.post("/api/ask", json={"question": CAREERS_QUESTION, "generate": True}).json()
    assert data["generated"] and data["text"] == llm.reply
    assert [c["number"] for c in data["citations"]] == [1, 2]


def test_api_streams_server_sent_events(llm_client: tuple[TestClient, FakeLLM]) -> None:
    client, llm = llm_client
    body = {"question": CAREERS_QUESTION, "generate": True, "stream": True}
    with client.stream("POST", "/api/ask", json=body) as reply:
        assert reply.headers["content-type"].startswith("text/event-stream")
        # Nothing between (a cache, nginx) may hold the events back.
        assert reply.headers["cache-control"] == "no-cache"
        assert reply.headers["x-accel-buffering"] == "no"
        blocks = "".join(reply.iter_text()).strip().split("\n\n")
    events = [(b.split("\n")[0][7:], json.loads(b.split("\n")[1][6:])) for b in blocks]
    assert events[0][0] == "answer" and not events[0][1]["generated"]
    assert {name for name, _ in events[1:-1]} == {"token"}
    assert events[-1][0] == "done" and events[-1][1]["text"] == llm.reply


def test_api_stream_falls_back_on_error(llm_client: tuple[TestClient, FakeLLM]) -> None:
    client, llm = llm_client
    llm.behaviour = "error"
    body = {"question": CAREERS_QUESTION, "generate": True, "stream": True}
    blocks = client.post("/api/ask", json=body).text.strip().split("\n\n")
    done = json.loads(blocks[-1].split("\n")[1][6:])
    assert not done["generated"] and "HTTP 500" in done["note"] and "[1]" in done["text"]


def test_ask_page_streams_with_js_and_generates_without(
    llm_client: tuple[TestClient, FakeLLM],
) -> None:
    client, llm = llm_client
    page = client.get("/ask", params={"q": CAREERS_QUESTION}).text
    assert 'data-stream="true"' in page and "/static/ask.js" in page and "<noscript>" in page
    # The script shows these while and after the model writes; the page has them ready.
    assert 'id="answer-status" role="status" hidden>A language model is writing' in page
    assert 'id="answer-label" hidden>Written by a language model' in page
    generated = client.get("/ask", params={"q": CAREERS_QUESTION, "generate": "true"}).text
    label = 'id="answer-label">Written by a language model from the sources below.'
    assert label in generated and "ask.js" not in generated
    llm.behaviour = "error"
    failed = client.get("/ask", params={"q": CAREERS_QUESTION, "generate": "true"}).text
    assert "did not answer" in failed and '<a class="cite" href="#source-1">' in failed


def test_ask_page_says_when_there_is_no_answer(client: TestClient) -> None:
    page = client.get("/ask", params={"q": "How do I bake sourdough bread?"}).text
    assert "no good answer" in page and "Nearest articles" in page
    assert 'id="source-1"' not in page


def test_ask_page_links_the_series_of_its_answer(client: TestClient) -> None:
    page = client.get("/ask", params={"q": CAREERS_QUESTION}).text
    assert (
        "Learn series:" in page and '<a href="/series/computer-vision">Computer vision</a>' in page
    )


# A Markdown FILE, uploaded: its structure survives the reader and renders on the page.
TIDES_MD = b"""---
question: How do I read a tide table?
---
Tide tables help sailors plan.

## Reading a tide table

- find your port
- note the **high water** time

```python
def height(hour):
    # a comment, not a heading
    return 2 * hour
```

| port | high water |
|------|------------|
| Brest | 06:10 |

See [the almanac](https://example.org/tides) and [x](javascript:alert(1)).
"""


def test_an_uploaded_markdown_file_renders_its_structure(write_client: TestClient) -> None:
    files = {"file": ("tide-tables.md", TIDES_MD, "text/markdown")}
    auth = {"Authorization": f"Bearer {KEY}"}
    assert write_client.post("/api/documents", files=files, headers=auth).status_code == 201
    page = write_client.get("/q/upload/tide-tables").text
    body = page.split('class="answer-body prose">')[1].split("</div>")[0]
    items = "<li>find your port</li>\n<li>note the <strong>high water</strong> time</li>"
    assert f"<ul>\n{items}\n</ul>" in body
    assert "<pre><code>def height(hour):\n    # a comment, not a heading\n" in body
    assert "<th>port</th>" in body and "<td>Brest</td>" in body
    assert '<a href="https://example.org/tides">the almanac</a>' in body
    # The javascript: link stays text: no link is made of it.
    assert "[x](javascript:alert(1))" in body and body.count("<a ") == 1
