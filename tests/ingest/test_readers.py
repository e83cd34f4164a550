"""Readers: each format, doc ids, folder walking, and every kind of bad input."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pypdf import PdfWriter

from answerdb.errors import InputError
from answerdb.ingest import iter_sources, read_path, split_passages
from answerdb.types import Document


def write(folder: Path, name: str, content: str | bytes) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def make_pdf(lines: list[str], title: str = "") -> bytes:
    """A one-page PDF whose content stream shows ``lines`` in Helvetica, built by hand."""
    shown = " ".join(f"({line}) '" for line in lines)
    content = f"BT /F1 12 Tf 72 720 Td 14 TL {shown} ET"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        " /Resources << /Font << /F1 5 0 R >> >> >>",
        f"<< /Length {len(content)} >>\nstream\n{content}\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    if title:
        objects.append(f"<< /Title ({title}) >>")
    out = io.BytesIO(b"%PDF-1.4\n")
    out.seek(0, io.SEEK_END)
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n{body}\nendobj\n".encode("latin-1"))
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    out.write("".join(f"{offset:010d} 00000 n \n" for offset in offsets).encode())
    info = f" /Info {len(objects)} 0 R" if title else ""
    trailer = f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R{info} >>\n"
    out.write(f"{trailer}startxref\n{xref}\n%%EOF\n".encode())
    return out.getvalue()


FAQ_MD = """---
title: Vector FAQ
series: Vector databases
tags: [ann, vectors]
author: Ada
updated: 2024-05-01
---
# Vector FAQ

This page collects the questions people ask most often about vector search, from the
basic ideas to the settings that matter when an index grows past a few million vectors.

## What is a *vector* index?

A vector index finds [near neighbours](https://example.org/ann) fast.

### How it works

It compares fewer vectors. ![diagram](d.png)

## Why quantise vectors?

Quantised vectors take **four times** less space. <!-- check the number -->
"""


# -- Markdown -----------------------------------------------------------------------------
def test_markdown_question_headings_split_into_articles(tmp_path: Path) -> None:
    path = write(tmp_path, "vectors/faq.md", FAQ_MD)
    docs = read_path(path, tmp_path)
    assert [d.doc_id for d in docs] == [
        "vectors/faq",
        "vectors/faq#what-is-a-vector-index",
        "vectors/faq#why-quantise-vectors",
    ]
    intro, index, quantise = docs
    assert intro.question == "" and intro.text.startswith("# Vector FAQ\n")
    assert index.question == "What is a vector index?"
    # Links and emphasis stay Markdown; an image leaves its alt text, a comment nothing.
    assert index.text.split("\n") == [
        "A vector index finds [near neighbours](https://example.org/ann) fast.", "",
        "### How it works", "", "It compares fewer vectors. diagram",
    ]  # fmt: skip
    assert quantise.text == "Quantised vectors take **four times** less space."
    assert {d.title for d in docs} == {"Vector FAQ"}
    assert all(d.source == str(path) for d in docs)


def test_markdown_front_matter_goes_to_metadata(tmp_path: Path) -> None:
    docs = read_path(write(tmp_path, "faq.md", FAQ_MD))
    assert docs[1].metadata == {
        "source_format": "markdown",
        "series": "Vector databases",
        "tags": ["ann", "vectors"],
        "author": "Ada",
        "updated": "2024-05-01",
    }
    docs[1].metadata["tags"].append("x")  # each article owns its metadata
    assert docs[2].metadata["tags"] == ["ann", "vectors"]


def test_markdown_front_matter_question_keeps_one_article(tmp_path: Path) -> None:
    text = (
        "---\nquestion: What is RAG?\ntags: rag, llm\n---\n"
        "RAG retrieves.\n\n## Why now?\n\nBecause.\n"
    )
    (doc,) = read_path(write(tmp_path, "deep/what-is-rag.md", text), tmp_path)
    assert doc.doc_id == "deep/what-is-rag"
    assert doc.question == "What is RAG?" and doc.title == "what-is-rag"
    assert doc.text == "RAG retrieves.\n\n## Why now?\n\nBecause."
    assert doc.metadata["tags"] == ["rag", "llm"]


def test_markdown_single_question_file_keeps_plain_id(tmp_path: Path) -> None:
    (doc,) = read_path(write(tmp_path, "q.md", "## What is BM25?\n\nA ranking function.\n"))
    assert (doc.doc_id, doc.question, doc.title) == ("q", "What is BM25?", "q")


def test_markdown_duplicate_questions_get_distinct_ids(tmp_path: Path) -> None:
    docs = read_path(write(tmp_path, "d.md", "# Why?\n\nOne.\n\n# Why?\n\nTwo.\n"))
    assert [d.doc_id for d in docs] == ["d#why", "d#why-2"]


def test_markdown_keeps_lists_code_tables_and_links(tmp_path: Path) -> None:
    text = (
        "Title\n=====\n\nSome _emphasis_, **bold** and `__init__` in [a link][1].\n"
        "> quoted line\n\n[1]: https://example.org\n\n```python\n# a comment, not a heading\n"
        "x = 1\n```\n\n* first item\n* second\n  item\n\n1. one\n2. two\n\n"
        "| a | b \\| c |\n|---|:-:|\n| 1 | `2\\|3` |\n\n    indented()\n"
    )
    (doc,) = read_path(write(tmp_path, "noise.md", text))
    assert doc.title == "Title"
    assert doc.text.split("\n") == [
        "# Title",
        "",
        "Some _emphasis_, **bold** and `__init__` in [a link](https://example.org).",
        "",
        "> quoted line",
        "",
        "```python",
        "# a comment, not a heading",
        "x = 1",
        "```",
        "",
        "* first item",
        "* second item",
        "",
        "1. one",
        "2. two",
        "",
        "| a | b \\| c |",
        "| --- | :---: |",
        "| 1 | `2\\|3` |",
        "",
        "```",
        "indented()",
        "```",
    ]
    # The code's "# comment" is no heading, and the code block stays whole in its passage.
    (passage,) = split_passages(doc)
    assert passage.startswith("Title\n")
    assert "```python # a comment, not a heading x = 1 ```" in passage


def test_markdown_drops_what_a_reader_should_not_see(tmp_path: Path) -> None:
    text = (
        "Intro <!-- a note --> text with <kbd>Ctrl</kbd> and ![a chart](c.png).\n\n"
        "<!--\nA hidden\nparagraph.\n-->\n\n<div align=center>Centred &amp; kept</div>\n\n"
        "<script>alert('owned')</script>\n\n---\n\nEscaped \\*stars\\* &copy; stay.\n"
    )
    (doc,) = read_path(write(tmp_path, "html.md", text))
    assert doc.text.split("\n") == [
        "Intro text with Ctrl and a chart.",
        "",
        "Centred &amp; kept",
        "",
        "Escaped \\*stars\\* &copy; stay.",
    ]


def test_markdown_title_falls_back_to_file_stem(tmp_path: Path) -> None:
    (doc,) = read_path(write(tmp_path, "notes.md", "## Section\n\nBody text.\n"))
    assert doc.title == "notes" and doc.text == "## Section\n\nBody text."


def test_markdown_bad_yaml_names_the_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.md", "---\ntitle: ok\ntags: [unclosed\n---\nBody.\n")
    with pytest.raises(InputError, match=r"bad\.md: bad YAML front matter: .*line \d") as err:
        read_path(path)
    assert str(err.value).startswith(str(path))


def test_markdown_front_matter_must_be_a_mapping(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"list\.md: bad YAML front matter"):
        read_path(write(tmp_path, "list.md", "---\n- a\n- b\n---\nBody.\n"))


# -- HTML ---------------------------------------------------------------------------------
PAGE = """<!doctype html><html><head><title>Index FAQ</title>
<meta name="description" content="Answers  about indexes.">
<meta name="keywords" content="ann, hnsw">
<style>p {color: red}</style><script>var hidden = "script text";</script></head>
<body><nav>Home | About</nav><h1>Index FAQ</h1>
<h2>What is <em>HNSW</em>?</h2><p>A graph index.<br>It is fast.</p>
<h3>Tuning</h3><ul><li>Raise ef.</li><li>Raise M.</li></ul>
<h5>Is this a question?</h5><p>Too minor to split.</p>
<h2>What is IVF?</h2><pre># not a heading
probe()</pre><p>IVF clusters &amp; probes.</p><footer>Copyright</footer></body></html>"""


def test_html_question_headings_split_into_articles(tmp_path: Path) -> None:
    docs = read_path(write(tmp_path, "site/index.html", PAGE), tmp_path)
    assert [d.doc_id for d in docs] == ["site/index#what-is-hnsw", "site/index#what-is-ivf"]
    hnsw, ivf = docs
    assert hnsw.question == "What is HNSW?" and hnsw.title == "Index FAQ"
    assert hnsw.text.split("\n") == [
        "A graph index.", "", "It is fast.", "", "### Tuning", "Raise ef.", "", "Raise M.", "",
        "##### Is this a question?", "Too minor to split.",
    ]  # fmt: skip
    assert ivf.text.split("\n") == ["    # not a heading", "    probe()", "IVF clusters & probes."]
    assert hnsw.metadata == {
        "source_format": "html",
        "description": "Answers about indexes.",
        "keywords": ["ann", "hnsw"],
    }
    joined = " ".join(d.text for d in docs)
    assert "script text" not in joined and "Home" not in joined and "Copyright" not in joined


def test_html_title_from_first_h1_then_stem(tmp_path: Path) -> None:
    (doc,) = read_path(write(tmp_path, "a.html", "<h1>Main <b>topic</b></h1><p>Text.</p>"))
    assert doc.title == "Main topic" and doc.text == "# Main topic\nText."
    (doc,) = read_path(write(tmp_path, "b.htm", "<p>Just text.</p>"))
    assert doc.title == "b" and doc.metadata == {"source_format": "html"}


def test_html_with_only_scripts_is_empty(tmp_path: Path) -> None:
    path = write(tmp_path, "js.html", "<html><script>app()</script><style>p{}</style></html>")
    with pytest.raises(InputError, match=r"js\.html: empty document"):
        read_path(path)


# -- plain text and PDF -------------------------------------------------------------------
def test_text_title_and_faq_question_lines(tmp_path: Path) -> None:
    text = (
        "Search FAQ\n\nWhat is recall?\nThe share of relevant items\nthat were found.\n\n"
        "Q: And precision?\nThe share found that is relevant.\n"
    )
    docs = read_path(write(tmp_path, "faq.txt", text))
    assert [(d.doc_id, d.question) for d in docs] == [
        ("faq#what-is-recall", "What is recall?"),
        ("faq#and-precision", "And precision?"),
    ]
    assert docs[0].text == "The share of relevant items that were found."
    assert docs[0].title == "Search FAQ" and docs[0].metadata == {"source_format": "text"}


def test_text_without_questions_is_one_document(tmp_path: Path) -> None:
    long_first = "word " * 30
    (doc,) = read_path(write(tmp_path, "notes.text", f"{long_first}\nis it?\nmore text.\n"))
    assert doc.doc_id == "notes" and doc.title == "notes" and doc.question == ""
    assert doc.text == f"{long_first.strip()} is it? more text."
    (doc,) = read_path(write(tmp_path, "titled.txt", "Short title\nText right below.\nMore."))
    assert doc.title == "Short title" and doc.text == "Short title\nText right below. More."


def test_pdf_text_and_title(tmp_path: Path) -> None:
    path = write(tmp_path, "paper.pdf", make_pdf(["Hello PDF world.", "Second line."], "A Paper"))
    (doc,) = read_path(path)
    assert doc.text == "Hello PDF world.\nSecond line."
    assert doc.title == "A Paper" and doc.doc_id == "paper"
    assert doc.metadata == {"source_format": "pdf", "pages": 1}
    (doc,) = read_path(write(tmp_path, "untitled.pdf", make_pdf(["Body."])))
    assert doc.title == "untitled"


def test_pdf_without_text_is_an_error(tmp_path: Path) -> None:
    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    buffer = io.BytesIO()
    writer.write(buffer)
    with pytest.raises(InputError, match=r"scan\.pdf: no extractable text"):
        read_path(write(tmp_path, "scan.pdf", buffer.getvalue()))


def test_damaged_pdf_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"broken\.pdf: damaged or unreadable PDF: PdfStreamError"):
        read_path(write(tmp_path, "broken.pdf", b"%PDF-1.4\nnot really a pdf"))


# -- JSONL and CSV ------------------------------------------------------------------------
def test_jsonl_beir_corpus(tmp_path: Path) -> None:
    lines = [
        {"_id": "d1", "title": "One", "text": "First.", "metadata": {"url": "u1"}, "lang": "en"},
        {"_id": 2, "text": "Second."},
    ]
    text = "\n".join(json.dumps(line) for line in lines) + "\n\n"
    docs = read_path(write(tmp_path, "corpus.jsonl", text))
    assert docs[0] == Document(
        doc_id="d1",
        text="First.",
        source=str(tmp_path / "corpus.jsonl"),
        title="One",
        metadata={"source_format": "jsonl", "url": "u1", "lang": "en"},
    )
    assert (docs[1].doc_id, docs[1].title) == ("2", "")


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("{not json", r"line 3: not valid JSON: "),
        ('{"_id": "x"}', r'line 3: missing "text"'),
        ('{"text": "x"}', r'line 3: missing "_id"'),
        ('["_id", "text"]', r"line 3: expected an object"),
        ('{"_id": "x", "text": 5}', r'line 3: "text" must be a string'),
    ],
)
def test_jsonl_bad_line_names_file_and_line(tmp_path: Path, line: str, problem: str) -> None:
    good = json.dumps({"_id": "a", "text": "fine"})
    path = write(tmp_path, "c.jsonl", f"{good}\n\n{line}\n")
    with pytest.raises(InputError, match=problem) as err:
        read_path(path)
    assert str(err.value).startswith(f"{path}: line 3: ")


def test_csv_columns(tmp_path: Path) -> None:
    text = (
        "ID,Question,Answer,Title,topic\n"
        "7,What is k?,The number of hits.,Search,basics\n"
        ",Why?,Because.,,\n"
    )
    docs = read_path(write(tmp_path, "qa.csv", text))
    assert [(d.doc_id, d.question, d.text, d.title) for d in docs] == [
        ("7", "What is k?", "The number of hits.", "Search"),
        ("qa#why", "Why?", "Because.", ""),
    ]
    assert docs[0].metadata == {"source_format": "csv", "topic": "basics"}


def test_csv_without_ids_uses_line_numbers(tmp_path: Path) -> None:
    docs = read_path(write(tmp_path, "t.csv", "body,note\nfirst,a\n\nsecond\n"))
    assert [(d.doc_id, d.text) for d in docs] == [("t#line-2", "first"), ("t#line-4", "second")]
    (doc,) = read_path(write(tmp_path, "one.csv", "text\nonly row\n"))
    assert doc.doc_id == "one"


def test_csv_without_text_column_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"x\.csv: no text column .*found: id, content"):
        read_path(write(tmp_path, "x.csv", "id,content\n1,hello\n"))


# -- errors every format shares -----------------------------------------------------------
TEXT_SUFFIXES = [".md", ".markdown", ".html", ".htm", ".txt", ".text", ".jsonl", ".csv"]


@pytest.mark.parametrize("suffix", TEXT_SUFFIXES)
def test_binary_file_is_refused(tmp_path: Path, suffix: str) -> None:
    path = write(tmp_path, f"blob{suffix}", b"text\x00\x01\x02")
    with pytest.raises(InputError, match="binary file, not text") as err:
        read_path(path)
    assert str(err.value).startswith(str(path))


@pytest.mark.parametrize("suffix", TEXT_SUFFIXES)
def test_invalid_utf8_reports_the_byte_offset(tmp_path: Path, suffix: str) -> None:
    path = write(tmp_path, f"latin{suffix}", "café ".encode() + "naïve".encode("latin-1"))
    with pytest.raises(InputError, match=r"latin\.\w+: invalid UTF-8 at byte 8"):
        read_path(path)


@pytest.mark.parametrize("suffix", TEXT_SUFFIXES)
@pytest.mark.parametrize("content", ["", " \n\t\n", "\ufeff\n"])
def test_empty_file_is_refused(tmp_path: Path, suffix: str, content: str) -> None:
    with pytest.raises(InputError, match=r"empty\.\w+: empty document"):
        read_path(write(tmp_path, f"empty{suffix}", content))


@pytest.mark.parametrize(
    ("name", "content", "fmt"),
    [
        ("a.md", "# A\n\nText.", "markdown"),
        ("a.html", "<p>Text.</p>", "html"),
        ("a.txt", "Text.", "text"),
        ("a.jsonl", '{"_id": "1", "text": "Text."}', "jsonl"),
        ("a.csv", "text\nText.", "csv"),
        ("A.MD", "Text.", "markdown"),
    ],
)
def test_every_format_records_its_source_format(
    tmp_path: Path, name: str, content: str, fmt: str
) -> None:
    (doc,) = read_path(write(tmp_path, name, content))
    assert doc.metadata["source_format"] == fmt


def test_unsupported_suffix_names_file_and_formats(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"x\.docx: unsupported format \(supported: .md, "):
        read_path(write(tmp_path, "x.docx", "hi"))


def test_missing_or_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"no such file or folder: .*gone\.md"):
        read_path(tmp_path / "gone.md")
    with pytest.raises(InputError, match=r"dir\.md: cannot read"):
        read_path(write(tmp_path, "dir.md/inner.txt", "x").parent)


# -- folders ------------------------------------------------------------------------------
def test_iter_sources_walks_folders_in_sorted_order(tmp_path: Path) -> None:
    for name in ["b.md", "a/z.txt", "a/y.csv", "c.docx", ".hidden.md", ".git/x.md", "a/.d/q.md"]:
        write(tmp_path / "kb", name, "x")
    loose = write(tmp_path, "loose.xyz", "x")
    found = list(iter_sources([tmp_path / "kb", str(loose)]))
    kb = tmp_path / "kb"
    assert found == [
        (kb / "b.md", kb),
        (kb / "a/y.csv", kb),
        (kb / "a/z.txt", kb),
        (loose, tmp_path),
    ]


def test_folder_doc_ids_are_relative_posix_paths(tmp_path: Path) -> None:
    write(tmp_path, "computer-vision/careers-in-computer-vision.md", "Careers.")
    ids = [d.doc_id for f, b in iter_sources([tmp_path]) for d in read_path(f, b)]
    assert ids == ["computer-vision/careers-in-computer-vision"]


def test_iter_sources_missing_path(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"^no such file or folder: .*nope$"):
        list(iter_sources([tmp_path / "nope"]))


# -- no input ends in a traceback ---------------------------------------------------------
FRAGMENTS = [
    "---\n", "title: x\n", "# ", "## ", "?", "\n", "\n\n", "[", "](", ")", "*", "_", "`", "```",
    "<", ">", "<h2>", "</h2>", "<p>", "<!--", "-->", "{", "}", '"_id"', '"text"', ":", ",",
    "Q: ", "word", "Why", " ", "|", "===", "\x00", "\xff", "é",
]  # fmt: skip
CONTENT = st.one_of(
    st.binary(max_size=600),
    st.text(max_size=600).map(str.encode),
    st.lists(st.sampled_from(FRAGMENTS), max_size=60).map(lambda parts: "".join(parts).encode()),
)


@pytest.mark.parametrize("suffix", [*TEXT_SUFFIXES, ".pdf"])
@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=CONTENT)
def test_any_input_gives_documents_or_input_error(tmp_path: Path, suffix: str, data: bytes) -> None:
    path = write(tmp_path, f"fuzz{suffix}", data)
    try:
        docs = read_path(path)
    except InputError as exc:
        assert str(exc).startswith(str(path))
        return
    assert docs and all(d.doc_id and d.metadata["source_format"] for d in docs)
    for doc in docs:
        split_passages(doc, max_words=20)
