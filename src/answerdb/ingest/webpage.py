"""HTML reader: the readable text of a page, with headings kept as lines.

Parsing uses BeautifulSoup with the standard library's ``html.parser``, so no C parser is
needed. Blocks are marked with private-use characters before the text is taken out in one
pass, because BeautifulSoup's text extraction is iterative and safe on deep nesting.
"""

from __future__ import annotations

import re

from bs4 import BeautifulSoup, Tag
from bs4.exceptions import ParserRejectedMarkup

from answerdb.types import Document, Metadata

from .common import Source, normalise_space, string_list
from .faq import Line, Page, articles

_DROP = ("script", "style", "nav", "footer", "noscript", "template", "head")
_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
_BLOCKS = (
    "p", "div", "section", "article", "main", "aside", "header", "blockquote", "ul", "ol",
    "li", "dl", "dt", "dd", "table", "tr", "td", "th", "caption", "figure", "figcaption",
    "address", "details", "summary", "hr", "form", "fieldset",
)  # fmt: skip
# Only h1-h4 questions start articles: h5/h6 are too minor to be an article's title.
_MAX_QUESTION_LEVEL = 4
_BREAK, _HEAD, _CODE = "\ue000", "\ue001", "\ue002"
_MARKERS = re.compile("[\ue000-\ue002]")


def read_html(src: Source) -> list[Document]:
    """An HTML file as Documents: one per question heading (h1-h4), or one for the page.

    Raises:
        InputError: undecodable markup, or a page with no readable text.
    """
    try:
        soup = BeautifulSoup(_MARKERS.sub("", src.text()), "html.parser")
    except (ParserRejectedMarkup, RecursionError) as exc:
        raise src.error(f"not readable as HTML: {exc}") from None
    title = _title(soup) or src.path.stem
    metadata = _meta(soup)
    for tag in soup.find_all(_DROP):
        tag.decompose()
    lines = _lines(_marked_text(soup))
    return articles(Page(src.doc_id, src.name, title, lines, metadata=metadata))


def _title(soup: BeautifulSoup) -> str:
    for tag in (soup.find("title"), soup.find("h1")):
        if isinstance(tag, Tag) and (text := normalise_space(tag.get_text())):
            return text
    return ""


def _meta(soup: BeautifulSoup) -> Metadata:
    out: Metadata = {"source_format": "html"}
    for tag in soup.find_all("meta"):
        name = str(tag.get("name") or "").lower()
        content = tag.get("content")
        if name not in ("description", "keywords") or not isinstance(content, str):
            continue
        if name == "description" and content.strip():
            out["description"] = normalise_space(content)
        elif name == "keywords" and (keywords := string_list(content)):
            out["keywords"] = keywords
    return out


def _marked_text(soup: BeautifulSoup) -> str:
    for tag in soup.find_all(_HEADINGS):
        text = normalise_space(tag.get_text())
        tag.replace_with(f"{_BREAK}{_HEAD}{tag.name[1]}{text}{_BREAK}")
    for tag in soup.find_all("pre"):
        code = _BREAK.join(_CODE + line for line in tag.get_text().split("\n"))
        tag.replace_with(f"{_BREAK}{code}{_BREAK}")
    for tag in soup.find_all("br"):
        tag.replace_with(_BREAK)
    for tag in soup.find_all(_BLOCKS):
        tag.insert_before(_BREAK)
        tag.insert_after(_BREAK)
    return soup.get_text()


def _lines(marked: str) -> list[Line]:
    out: list[Line] = []
    for chunk in marked.split(_BREAK):
        if chunk.startswith(_CODE):
            # Indented, so that a "# comment" in code is never taken for a heading.
            code = chunk[1:].rstrip()
            out.append(Line(f"    {code}" if code.strip() else ""))
            continue
        text = normalise_space(chunk)
        if text.startswith(_HEAD):
            out.extend(_heading(text[2:].strip(), int(text[1])))
        elif text:
            out.extend([Line(text), Line("")])
    return out


def _heading(text: str, level: int) -> list[Line]:
    if not text:
        return []
    question = level <= _MAX_QUESTION_LEVEL and text.endswith("?")
    return [Line(text, level, question)]
