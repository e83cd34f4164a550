"""Plain-text and JSON renderings of results, for the CLI."""

from __future__ import annotations

import json
import textwrap
from typing import Any

from answerdb.answer.series import Series
from answerdb.ingest.pipeline import UNCHANGED
from answerdb.types import Answer, CheckReport, Hit, IngestReport, Related, plain

WIDTH = 88


def to_json(value: Any) -> str:
    """Dataclasses (and lists of them) as indented JSON."""
    return json.dumps(plain(value), indent=2, ensure_ascii=False)


def _wrap(text: str, indent: str = "") -> str:
    return textwrap.fill(text, WIDTH, initial_indent=indent, subsequent_indent=indent)


NO_ANSWER = "This knowledge base has no good answer to that question."


def answer_text(answer: Answer) -> str:
    """The question, the cited answer, its sources, series and Keep Reading; or, when there is
    no good answer, that plainly and the nearest articles."""
    if not answer.answered:
        nearest = dict.fromkeys(f"  • {h.heading or h.doc_id}  ({h.doc_id})" for h in answer.hits)
        lines = [answer.question, "", NO_ANSWER]
        return "\n".join([*lines, "", "Nearest articles", *nearest] if nearest else lines)
    lines = [answer.question, "", _wrap(answer.text or NO_ANSWER)]
    if answer.citations:
        lines += ["", "Sources"]
        lines += [
            f"  [{c.number}] {c.hit.heading or c.hit.doc_id} — passage {c.hit.ordinal + 1}"
            f"  ({c.hit.doc_id})"
            for c in answer.citations
        ]
    if answer.series:
        lines += ["", "Learn series: " + ", ".join(answer.series)]
    if answer.keep_reading:
        lines += ["", "Keep Reading"]
        lines += related_lines(answer.keep_reading)
    return "\n".join(lines)


def related_lines(items: list[Related]) -> list[str]:
    """A bullet per related question with its teaser underneath."""
    lines: list[str] = []
    for item in items:
        lines.append(f"  • {item.question}  ({item.doc_id})")
        lines.append(_wrap(item.teaser, "      "))
    return lines


def hits_text(hits: list[Hit]) -> str:
    """A numbered list of passages with scores."""
    if not hits:
        return "No results."
    lines: list[str] = []
    for n, hit in enumerate(hits, start=1):
        lines.append(f"{n:>2}. {hit.heading or hit.doc_id}  ({hit.doc_id}, score {hit.score:.4f})")
        snippet = hit.text if len(hit.text) <= 240 else hit.text[:240].rsplit(" ", 1)[0] + "…"
        lines.append(_wrap(snippet, "    "))
    return "\n".join(lines)


def report_text(report: IngestReport) -> str:
    """Counts, then each skipped source with its reason."""
    lines = [
        f"added {_count(len(report.added), 'document')} "
        f"({_count(report.passages, 'passage')}), skipped {len(report.skipped)}"
    ]
    unchanged = [s for s in report.skipped if s.reason == UNCHANGED]
    if unchanged:  # one line, not one per document of a re-ingested folder
        lines.append(f"  skipped {len(unchanged)} unchanged (already stored)")
    # Reader errors already start with the file's name.
    lines += [
        f"  skipped {s.reason}"
        if s.reason.startswith(s.source)
        else f"  skipped {s.source}: {s.reason}"
        for s in report.skipped
        if s.reason != UNCHANGED
    ]
    return "\n".join(lines)


def waiting_text(rows: int) -> str:
    """A line on rows the ANN graph leaves to `reindex`, or nothing."""
    if not rows:
        return ""
    return (
        f"\n{rows} vectors wait for the ANN graph (searched exactly meanwhile): "
        "run `answerdb reindex` to add them"
    )


def series_text(groups: list[Series]) -> str:
    """Each series with its articles."""
    lines: list[str] = []
    for group in groups:
        lines.append(f"{group.name} ({len(group.articles)})")
        lines += [f"  - {doc.heading or doc.doc_id}" for doc in group.articles]
    return "\n".join(lines) or "No learn series."


def table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    """A fixed-width table of the given columns."""
    widths = [max(len(c), *(len(_cell(r.get(c))) for r in rows)) for c in columns]
    head = "  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))
    body = [
        "  ".join(_cell(r.get(c)).ljust(w) for c, w in zip(columns, widths, strict=True))
        for r in rows
    ]
    return "\n".join([head, "  ".join("-" * w for w in widths), *body])


def _cell(value: Any) -> str:
    # Scores are shares (4 decimals); rates such as queries/s carry one decimal already.
    if isinstance(value, float) and value != round(value, 1):
        return f"{value:+.4f}" if value < 0 else f"{value:.4f}"
    return "" if value is None else str(value)


def check_text(report: CheckReport) -> str:
    """One line per finding, then the verdict."""
    lines = [f"{report.path}:"]
    for f in report.findings:
        hint = "  (answerdb repair fixes this)" if f.repairable and f.level != "ok" else ""
        lines.append(f"  {f.level:<5} {f.part:<8} {f.message}{hint}")
    warnings = sum(f.level == "warn" for f in report.findings)
    errors = sum(f.level == "error" for f in report.findings)
    verdict = "ok" if report.ok else f"{errors} error{'s' * (errors != 1)}"
    lines.append(f"check: {verdict}" + (f", {warnings} warning(s)" if warnings else ""))
    return "\n".join(lines)


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"
