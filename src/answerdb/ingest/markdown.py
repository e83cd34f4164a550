"""Markdown reader: YAML front matter, then the body read by markdown-it-py and written back as
Markdown in the Document text convention: headings as ``#`` lines, one line per paragraph or
list item, code fenced, tables with pipes, links as ``[text](url)``.

What a reader should not see goes: HTML comments and raw HTML tags (their text stays), images
(their alt text stays), link reference definitions (their links are written inline).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import yaml
from markdown_it import MarkdownIt
from markdown_it.tree import SyntaxTreeNode

from answerdb.types import Document, Metadata

from .common import Source, jsonable, normalise_space, string_list
from .faq import Line, Page, articles

# Front matter is a few lines of metadata; the cap bounds the pure-Python YAML parser's work.
MAX_FRONT_MATTER_CHARS = 65_536
_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?\n)?(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.DOTALL)
# Comments, scripts and styles go with their content; other tags go and leave their text.
_HTML_TAG = re.compile(
    r"<!--.*?(?:-->|\Z)|<(script|style)\b.*?(?:</\1\s*>|\Z)|</?[A-Za-z][^<>]*>",
    re.DOTALL | re.IGNORECASE,
)
_ALIGN = {"text-align:left": ":---", "text-align:center": ":---:", "text-align:right": "---:"}


def _parser() -> MarkdownIt:
    # html: raw HTML and comments become tokens of their own, so that they can be left out.
    md = MarkdownIt("commonmark", {"html": True}).enable("table")
    # Escapes and entities stay tokens of their own, so that they are written back as written.
    md.core.ruler.disable("text_join")
    return md


_MD = _parser()


def read_markdown(src: Source) -> list[Document]:
    """A Markdown file as Documents: one per question heading, or one for the file.

    Raises:
        InputError: bad front matter, undecodable or empty file.
    """
    meta, body = _split_front_matter(src, src.text())
    try:
        lines = markdown_lines(body)
    except RecursionError:
        # Thousands of nested emphasis markers nest the parsed tree as deep.
        raise src.error("Markdown nested too deeply") from None
    question = str(meta.pop("question", "") or "").strip()
    title = str(meta.pop("title", "") or "").strip() or _first_h1(lines) or src.path.stem
    page = Page(src.doc_id, src.name, title, lines, question, _metadata(meta))
    return articles(page)


def _split_front_matter(src: Source, text: str) -> tuple[dict[str, Any], str]:
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}, text
    block = match.group(1) or ""
    if len(block) > MAX_FRONT_MATTER_CHARS:
        limit = f"{MAX_FRONT_MATTER_CHARS:,}"
        raise src.error(f"bad YAML front matter: longer than {limit} characters")
    try:
        meta = yaml.load(block, Loader=_FrontMatterLoader)  # a SafeLoader, without aliases
    except yaml.YAMLError as exc:
        raise src.error(f"bad YAML front matter: {_yaml_problem(exc)}") from None
    except RecursionError:
        raise src.error("bad YAML front matter: nested too deeply") from None
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise src.error("bad YAML front matter: expected key: value pairs")
    return {str(k): v for k, v in meta.items()}, text[match.end() :]


class _FrontMatterLoader(yaml.SafeLoader):
    """SafeLoader without aliases: nested aliases expand exponentially (a 429-byte "billion
    laughs" block is billions of values), and metadata has no need of them."""

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            # The stubs leave peek_event untyped; it returns the AliasEvent just checked.
            event: yaml.AliasEvent = self.peek_event()  # type: ignore[no-untyped-call]
            mark = event.start_mark if isinstance(event.start_mark, yaml.Mark) else None
            raise yaml.composer.ComposerError(None, None, "aliases (*name) are not allowed", mark)
        return super().compose_node(parent, index)


def _yaml_problem(exc: yaml.YAMLError) -> str:
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        # +2: the mark counts from 0 inside the block, and the block starts after "---".
        return f"{exc.problem} (line {exc.problem_mark.line + 2})"
    return str(exc)


def _metadata(meta: dict[str, Any]) -> Metadata:
    out: Metadata = {"source_format": "markdown"}
    for key, value in meta.items():
        if key == "series":
            out["series"] = str(value).strip() if value is not None else ""
        elif key == "tags":
            out["tags"] = string_list(value) if value is not None else []
        else:
            out[key] = jsonable(value)
    return out


def _first_h1(lines: list[Line]) -> str:
    return next((line.text for line in lines if line.level == 1), "")


def markdown_lines(body: str) -> list[Line]:
    """The body's blocks as page lines: headings as headings, every other block as Markdown."""
    lines: list[Line] = []
    for node in SyntaxTreeNode(_MD.parse(body)).children:
        if node.type == "heading":
            text = normalise_space(_plain(node))
            if text:
                lines.append(Line(text, int(node.tag[1:]), question=text.endswith("?")))
        elif block := "\n".join(_block(node)).strip("\n"):
            lines.append(Line(block))
        lines.append(Line(""))
    return lines


def _block(node: SyntaxTreeNode) -> list[str]:
    """A block as Markdown lines; rules and anything unknown are left out."""
    writer = _BLOCKS.get(node.type)
    return writer(node) if writer else []


def _blocks(nodes: list[SyntaxTreeNode], loose: bool = True) -> list[str]:
    out: list[str] = []
    for node in nodes:
        lines = _block(node)
        if lines and out and loose:
            out.append("")
        out.extend(lines)
    return out


def _paragraph(node: SyntaxTreeNode) -> list[str]:
    # Normalised: dropped HTML leaves double spaces.
    text = normalise_space(_inline(node))
    return [text] if text else []


def _heading(node: SyntaxTreeNode) -> list[str]:
    # Only a heading inside a list or quote comes here: it stays Markdown, under its marker.
    return [f"{'#' * int(node.tag[1:])} {_inline(node).strip()}"]


def _fence(node: SyntaxTreeNode) -> list[str]:
    return [f"{node.markup}{node.info}", *_code_lines(node.content), node.markup]


def _indented_code(node: SyntaxTreeNode) -> list[str]:
    # Fenced, as every stored code block is; the fence outruns any backticks in the code.
    longest = max((len(run) for run in re.findall(r"`+", node.content)), default=0)
    fence = "`" * max(3, longest + 1)
    return [fence, *_code_lines(node.content), fence]


def _code_lines(content: str) -> list[str]:
    return content.removesuffix("\n").split("\n") if content else []


def _list(node: SyntaxTreeNode) -> list[str]:
    # A tight list has hidden paragraphs; it stays tight, with no blank line between items.
    loose = any(not p.hidden for item in node.children for p in item.children)
    out: list[str] = []
    for item in node.children:
        marker = f"{item.info}{item.markup} " if node.type == "ordered_list" else f"{item.markup} "
        if out and loose:
            out.append("")
        out.extend(_indent(_blocks(item.children, loose), marker, " " * len(marker)))
    return out


def _quote(node: SyntaxTreeNode) -> list[str]:
    return [f"> {line}" if line else ">" for line in _blocks(node.children)]


def _indent(lines: list[str], first: str, rest: str) -> list[str]:
    if not lines:
        return [first.rstrip()]
    return [first + lines[0]] + [rest + line if line else "" for line in lines[1:]]


def _table(node: SyntaxTreeNode) -> list[str]:
    rows = [row for section in node.children for row in section.children]
    cells = [[_inline(cell, table=True).strip() for cell in row.children] for row in rows]
    rule = [_ALIGN.get(str(cell.attrs.get("style", "")), "---") for cell in rows[0].children]
    lines = [f"| {' | '.join(row)} |" for row in cells]
    return [lines[0], f"| {' | '.join(rule)} |", *lines[1:]]


def _html(node: SyntaxTreeNode) -> list[str]:
    # Tags and comments go; the words between them stay, as a paragraph.
    text = normalise_space(_HTML_TAG.sub(" ", node.content))
    return [text] if text else []


_BLOCKS: dict[str, Callable[[SyntaxTreeNode], list[str]]] = {
    "paragraph": _paragraph,
    "heading": _heading,
    "fence": _fence,
    "code_block": _indented_code,
    "bullet_list": _list,
    "ordered_list": _list,
    "blockquote": _quote,
    "table": _table,
    "html_block": _html,
}


def _inline(node: SyntaxTreeNode, table: bool = False) -> str:
    """The inline content under ``node`` as one line of Markdown (``table``: in a table cell)."""
    return "".join(_span(child, table) for child in node.children)


def _span(node: SyntaxTreeNode, table: bool) -> str:
    kind = node.type
    if kind == "inline":
        return _inline(node, table)
    if kind == "text":
        return node.content.replace("|", "\\|") if table else node.content
    if kind == "text_special":
        return node.markup  # an escape or an entity, as written
    if kind in ("softbreak", "hardbreak"):
        return " "  # one line per paragraph
    if kind == "code_inline":
        return _code_span(node, table)
    if kind in ("em", "strong"):
        return f"{node.markup}{_inline(node, table)}{node.markup}"
    if kind == "link":
        return _link(node, table)
    # An image is its alt text; raw HTML goes.
    return _inline(node, table) if kind == "image" else ""


def _code_span(node: SyntaxTreeNode, table: bool) -> str:
    code = node.content.replace("|", "\\|") if table else node.content
    # The parser takes one space off each side of a padded span: padding keeps the code whole.
    padded = code.startswith("`") or code.endswith("`") or code[:1] == code[-1:] == " "
    pad = " " if padded and code.strip() else ""
    return f"{node.markup}{pad}{code}{pad}{node.markup}"


def _link(node: SyntaxTreeNode, table: bool) -> str:
    text = _inline(node, table)
    if node.markup == "autolink":
        return f"<{text}>"
    href = str(node.attrs.get("href", ""))
    # A destination with spaces or unbalanced parentheses needs its angle brackets.
    if not href or " " in href or href.count("(") != href.count(")"):
        href = f"<{href}>"
    title = node.attrs.get("title")
    if title:
        escaped = str(title).replace("\\", "\\\\").replace('"', '\\"')
        href += f' "{escaped}"'
    return f"[{text}]({href})"


def _plain(node: SyntaxTreeNode) -> str:
    """The words under ``node`` without Markdown syntax: a heading's text."""
    if node.type in ("text", "text_special", "code_inline"):
        return node.content
    if node.type in ("softbreak", "hardbreak"):
        return " "
    return "".join(_plain(child) for child in node.children)
