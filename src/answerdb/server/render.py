"""Stored text as safe HTML: Markdown (CommonMark with tables) through an allow-list sanitiser.

Readers store one line per paragraph or list item, headings as ``#`` lines, code fenced and
tables with their pipes (ingest/markdown.py); text sent over the API is stored as written.
Both are Markdown, so both render here. A passage is stored as its section's heading lines
(without ``#``) over one line of body text, whose blocks the splitter has joined: its headings
render as headings and its body as inline Markdown. Raw HTML in the text is shown as text,
links keep only http(s), mailto and relative addresses, and the sanitiser (nh3) removes
whatever else slips through.
"""

from __future__ import annotations

from collections.abc import Collection

import nh3
from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markdown_it.token import Token
from markupsafe import Markup

from answerdb.text import CITATION

TAGS = {
    *("p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote"),
    *("ul", "ol", "li", "pre", "code", "em", "strong", "del", "s", "a"),
    *("table", "thead", "tbody", "tr", "th", "td"),
}
URL_SCHEMES = {"http", "https", "mailto"}

_CLEANER = nh3.Cleaner(
    tags=TAGS,
    attributes={"a": {"href", "title"}, "ol": {"start"}},
    allowed_classes={"a": {"cite"}},
    url_schemes=URL_SCHEMES,
    # No target=_blank is allowed, so rel adds nothing; the Referrer-Policy header does the rest.
    link_rel=None,
)


def _markdown() -> MarkdownIt:
    # breaks: a stored line is a paragraph or list item of its own, so a line end stays one.
    md = MarkdownIt("commonmark", {"breaks": True, "html": False}).enable("table")
    md.core.ruler.push("shift_headings", _shift_headings)
    md.core.ruler.push("link_citations", _link_citations)
    return md


def markdown(text: str, top: int = 2, citations: Collection[int] = ()) -> Markup:
    """``text`` rendered and sanitised. Its largest heading becomes ``<h{top}>`` and the rest
    keep their distance below it (the page owns its ``<h1>``); ``[n]`` marks for the numbers
    in ``citations`` link to ``#source-n``."""
    env = {"top": top, "citations": set(citations)}
    return Markup(_CLEANER.clean(_MD.render(text, env)))  # sanitised just now


def passage(text: str, top: int = 4) -> Markup:
    """A stored passage: the lines above its last are its headings (``<h{top}>``)."""
    *headings, body = text.split("\n")
    heads = "".join(f"<h{top}>{_MD.renderInline(h)}</h{top}>" for h in headings if h.strip())
    return Markup(_CLEANER.clean(heads + f"<p>{_MD.renderInline(body)}</p>"))  # sanitised


def plain_text(text: str) -> str:
    """``text`` without Markdown syntax, for teasers: the words of each block, one space apart."""
    words: list[str] = []
    for token in _MD.parse(text):
        if token.type == "inline":
            words.extend(child.content for child in token.children or [] if child.content)
        elif token.type in ("fence", "code_block"):
            words.append(token.content)
    return " ".join(" ".join(words).split())


def _shift_headings(state: StateCore) -> None:
    headings = [t for t in state.tokens if t.type in ("heading_open", "heading_close")]
    if not headings:
        return
    shift = int(state.env.get("top", 1)) - min(int(t.tag[1:]) for t in headings)
    for token in headings:
        token.tag = f"h{max(1, min(6, int(token.tag[1:]) + shift))}"


def _link_citations(state: StateCore) -> None:
    known: set[int] = state.env.get("citations") or set()
    if not known:
        return
    for token in state.tokens:
        if token.type == "inline" and token.children:
            token.children = _cited(token.children, known)


def _cited(children: list[Token], known: set[int]) -> list[Token]:
    """Inline tokens with each known ``[n]`` in plain text (not in a link) made a link."""
    out: list[Token] = []
    in_link = 0
    for child in children:
        in_link += {"link_open": 1, "link_close": -1}.get(child.type, 0)
        if child.type == "text" and not in_link:
            out.extend(_split_marks(child.content, known))
        else:
            out.append(child)
    return out


def _split_marks(text: str, known: set[int]) -> list[Token]:
    out: list[Token] = []
    cursor = 0
    for match in CITATION.finditer(text):
        number = int(match.group(1))
        if number not in known:
            continue
        out.append(_text(text[cursor : match.start()]))
        link = Token("link_open", "a", 1, attrs={"class": "cite", "href": f"#source-{number}"})
        out.extend([link, _text(match.group(0)), Token("link_close", "a", -1)])
        cursor = match.end()
    out.append(_text(text[cursor:]))
    return [t for t in out if t.type != "text" or t.content]


def _text(content: str) -> Token:
    return Token("text", "", 0, content=content)


_MD = _markdown()
