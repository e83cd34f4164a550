"""Markdown reader: YAML front matter, headings kept as lines, syntax noise stripped.

There is no Markdown library among our dependencies and we need only the text, so this is a
line-based reading of the CommonMark blocks that matter (fences, ATX and setext headings,
lists, tables, quotes) plus inline clean-up (emphasis, links, images, inline HTML).
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from answerdb.types import Document, Metadata

from .common import Source, jsonable, normalise_space, string_list
from .faq import Line, Page, articles

# Front matter is a few lines of metadata; the cap bounds the pure-Python YAML parser's work.
MAX_FRONT_MATTER_CHARS = 65_536
_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?\n)?(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.DOTALL)
_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.DOTALL)
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_RULE = re.compile(r"^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")
_REF_DEF = re.compile(r"^ {0,3}\[[^\]]+\]:\s*\S")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-+:?\s*(?:\|\s*:?-+:?\s*)*\|?\s*$")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d{1,9}[.)])\s+")
_QUOTE = re.compile(r"^\s*(?:>\s?)+")

_CODE_SPAN = re.compile(r"(`+)(.+?)\1")
_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!<>|~])")
# Private-use code points stand in for escaped characters while the markers are stripped.
_ESCAPE_BASE = 0xF0000
# Bounded spans keep each pattern linear on long lines full of unclosed brackets.
_TEXT, _URL = r"[^\]\n]{0,500}", r"[^)\n]{0,2000}"
_INLINE: list[tuple[re.Pattern[str], str]] = [
    (re.compile(rf"!\[{_TEXT}\]\({_URL}\)"), ""),  # images
    (re.compile(rf"!\[{_TEXT}\]\[{_TEXT}\]"), ""),
    (re.compile(rf"\[\^{_TEXT}\]"), ""),  # footnote references
    (re.compile(rf"\[({_TEXT})\]\({_URL}\)"), r"\1"),  # links -> their text
    (re.compile(rf"\[({_TEXT})\]\[{_TEXT}\]"), r"\1"),
    (re.compile(r"<((?:https?|mailto):[^>\s]+)>"), r"\1"),  # autolinks
    (re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>"), ""),  # inline HTML tags
]
_EMPHASIS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"(?<![\w*])\*(?=\S)([^*]+?)(?<=\S)\*(?![\w*])"), r"\1"),
    (re.compile(r"(?<![\w_])_(?=\S)([^_]+?)(?<=\S)_(?![\w_])"), r"\1"),
    (re.compile(r"\*\*(?=\S)([^*]+?)(?<=\S)\*\*"), r"\1"),
    (re.compile(r"__(?=\S)([^_]+?)(?<=\S)__"), r"\1"),
    (re.compile(r"~~(?=\S)([^~]+?)(?<=\S)~~"), r"\1"),
]


def read_markdown(src: Source) -> list[Document]:
    """A Markdown file as Documents: one per question heading, or one for the file.

    Raises:
        InputError: bad front matter, undecodable or empty file.
    """
    meta, body = _split_front_matter(src, src.text())
    lines = _Blocks().read(_COMMENT.sub("", body))
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


def clean_inline(text: str) -> str:
    """``text`` without Markdown inline syntax; code spans keep their text untouched."""
    parts: list[str] = []
    last = 0
    for match in _CODE_SPAN.finditer(text):
        parts.append(_clean_prose(text[last : match.start()]))
        parts.append(match.group(2).strip())
        last = match.end()
    parts.append(_clean_prose(text[last:]))
    return normalise_space("".join(parts))


def _clean_prose(text: str) -> str:
    text = _ESCAPE.sub(lambda m: chr(_ESCAPE_BASE + ord(m.group(1))), text)
    for pattern, repl in _INLINE:
        text = pattern.sub(repl, text)
    # Nested emphasis (***x***, **a *b* c**) comes off one layer per pass.
    for _ in range(3):
        before = text
        for pattern, repl in _EMPHASIS:
            text = pattern.sub(repl, text)
        if text == before:
            break
    return re.sub(r"[\U000F0000-\U000F007F]", lambda m: chr(ord(m.group()) - _ESCAPE_BASE), text)


class _Blocks:
    """Reads Markdown block structure line by line into :class:`Line` objects."""

    def __init__(self) -> None:
        self.out: list[Line] = []
        self.para: list[str] = []
        self.fence = ""

    def read(self, body: str) -> list[Line]:
        for raw in body.split("\n"):
            if self.fence:
                self._code(raw)
            else:
                self._block(raw)
        self._flush()
        return self.out

    def _code(self, raw: str) -> None:
        if raw.strip().startswith(self.fence):
            self.fence = ""
            self.out.append(Line(""))
        else:
            # Indented, so that a "# comment" in code is never taken for a heading.
            self.out.append(Line(f"    {raw.rstrip()}" if raw.strip() else ""))

    def _block(self, raw: str) -> None:
        line = _QUOTE.sub("", raw)
        if fence := _FENCE.match(line):
            self._flush()
            self.fence = fence.group(1)
        elif not line.strip():
            self._flush()
        elif heading := _ATX.match(line):
            self._flush()
            self._heading(heading.group(2) or "", len(heading.group(1)))
        elif self.para and _SETEXT.match(line):
            text, self.para = " ".join(self.para), []
            self._heading(text, 1 if line.strip()[0] == "=" else 2)
        elif _RULE.match(line) or _REF_DEF.match(line) or _TABLE_RULE.match(line):
            self._flush()
        elif line.lstrip().startswith("|"):
            self._flush()
            self.para.append(line.replace("|", " "))
            self._flush()
        elif item := _LIST_ITEM.match(line):
            self._flush()
            self.para.append(line[item.end() :])
        else:
            self.para.append(line.strip())

    def _heading(self, raw: str, level: int) -> None:
        text = clean_inline(raw)
        if text:
            self.out.append(Line(text, level, question=text.endswith("?")))

    def _flush(self) -> None:
        text = clean_inline(" ".join(self.para))
        self.para = []
        if text:
            self.out.append(Line(text))
        elif self.out and self.out[-1].text:
            self.out.append(Line(""))
