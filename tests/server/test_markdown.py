"""Article, passage and answer text rendered as safe Markdown: structure kept, scripts and
unsafe links not."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from answerdb.answer.generate import LLMConfig
from answerdb.embed import Embedder

from .conftest import KEY, make_app
from .fake_llm import FakeLLM, running
from .openapi_check import SchemaCheckedClient

AUTH = {"Authorization": f"Bearer {KEY}"}
RICH = """Tide tables help sailors plan.

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

See [the almanac](https://example.org/tides) and [this](javascript:alert(1)).
<script>alert('owned')</script>
"""
# What the Markdown reader stores for an uploaded file: headings as # lines, one line per
# paragraph or list item, code fenced.
UPLOADED = b"""---
question: How do harbour tides work?
---
Harbours see two tides a day.

## Timing

```
tide = moon + 50min
```
"""


def _add(client: TestClient, doc_id: str, text: str) -> str:
    body = {"doc_id": doc_id, "question": "How do I read a tide table?", "text": text}
    assert client.post("/api/documents", json=body, headers=AUTH).status_code == 201
    return client.get(f"/q/{doc_id}").text


def test_article_markdown_keeps_its_structure(write_client: TestClient) -> None:
    page = _add(write_client, "notes/tide-tables", RICH)
    body = page.split('class="answer-body prose">')[1].split("</div>")[0]
    assert "<h2>Reading a tide table</h2>" in body  # the page's title is the only h1
    assert "<li>find your port</li>" in body and "<strong>high water</strong>" in body
    assert "<pre><code>def height(hour):\n    # a comment, not a heading\n" in body
    assert "<th>port</th>" in body and "<td>Brest</td>" in body
    assert '<a href="https://example.org/tides">the almanac</a>' in body


def test_unsafe_links_and_html_stay_text(write_client: TestClient) -> None:
    body = _add(write_client, "notes/unsafe", RICH).split('class="answer-body prose">')[1]
    assert "javascript:" not in body.split("[this](")[0]  # no link made of it
    assert "[this](javascript:alert(1))" in body and 'href="javascript' not in body
    assert "<script>alert" not in body and "&lt;script&gt;" in body


@pytest.mark.parametrize(
    "text",
    [
        '<a href="javascript:alert(1)">x</a>',
        "[x](JAVASCRIPT:alert(1))",
        "[x](data:text/html;base64,PHNjcmlwdD4=)",
        "[x](vbscript:msgbox)",
        '<img src=x onerror="alert(1)">',
    ],
)
def test_no_script_reaches_the_page(write_client: TestClient, text: str) -> None:
    body = _add(write_client, "notes/x", text).split('class="answer-body prose">')[1]
    body = body.split("</div>")[0]
    assert "<a " not in body and "<img" not in body


def test_uploaded_markdown_renders_what_the_reader_stored(write_client: TestClient) -> None:
    files = {"file": ("harbour.md", UPLOADED, "text/markdown")}
    assert write_client.post("/api/documents", files=files, headers=AUTH).status_code == 201
    page = write_client.get("/q/upload/harbour").text
    assert "<h2>Timing</h2>" in page and "## Timing" not in page
    assert "<pre><code>tide = moon + 50min" in page


def test_passages_on_the_ask_page_are_rendered(write_client: TestClient) -> None:
    _add(write_client, "notes/tide-tables", RICH)
    page = write_client.get("/ask", params={"q": "How do I read a tide table?"}).text
    sources = page.split('id="source-list"')[1].split("</section>")[0]
    assert "## Reading" not in sources and "<h4>Reading a tide table</h4>" in sources
    teasers = page.split('id="hits-heading"')[1]
    assert "## Reading" not in teasers and "**high water**" not in teasers


@pytest.fixture
def llm_client(demo_kb: Path, minilm: Embedder) -> Iterator[tuple[TestClient, FakeLLM]]:
    with running() as llm:
        app = make_app(demo_kb, minilm, llm=LLMConfig(url=llm.url, model="fake", timeout=10))
        with SchemaCheckedClient(app) as client:
            yield client, llm
        app.state.kb.close()


MARKDOWN_REPLY = (
    "Careers include:\n\n- **engineers** who train models [1]\n- imaging specialists [2]\n\n"
    "Run `train.py` first [9]. <script>alert(1)</script>"
)


def test_generated_markdown_answer_is_rendered_with_linked_citations(
    llm_client: tuple[TestClient, FakeLLM],
) -> None:
    client, llm = llm_client
    llm.reply = MARKDOWN_REPLY
    page = client.get("/ask", params={"q": "careers in computer vision", "generate": "true"})
    answer = page.text.split('id="answer-text"')[1].split("</div>")[0]
    cited = '<a class="cite" href="#source-1">[1]</a>'
    assert f"<li><strong>engineers</strong> who train models {cited}</li>" in answer
    assert "<code>train.py</code> first." in answer  # [9] was not given: gone, space too
    assert "<script>" not in answer and "&lt;script&gt;" in answer
    data = client.post("/api/ask", json={"question": "careers", "generate": True}).json()
    assert data["html"].startswith("<p>Careers include:</p>") and "[9]" not in data["html"]
    assert '<a class="cite" href="#source-2">[2]</a>' in data["html"]
