"""What a reader gets, measured: the answer (support, first citation, SciFact-style rationales),
whether it declines what it cannot answer, how long it takes next to a search, and how Keep
Reading and the series follow a corpus's sections.

A section label (``metadata.section``) only scores here; nothing that builds or ranks reads it.
"""

from __future__ import annotations

import json
import re
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from answerdb.answer.measures import chance_precision, nmi, same_label_precision
from answerdb.db import AnswerDB
from answerdb.errors import InputError
from answerdb.types import Answer

# An answer sentence and the passage it cites: "... text. [2]".
_CITED = re.compile(r"(.+?)\s*\[(\d{1,3})\](?=\s|$)")
_WORDS = re.compile(r"\w+")
SECTION = "section"
Progress = Callable[[int, int], None]
T = TypeVar("T")


def normalised(sentence: str) -> str:
    """A sentence compared on its words alone: lower case, punctuation and spacing dropped."""
    return " ".join(_WORDS.findall(sentence.lower()))


def load_rationales(folder: Path, split: str) -> dict[str, set[str]]:
    """``answers/<split>.jsonl`` as query id → its gold sentences, normalised; {} if absent."""
    path = folder / "answers" / f"{split}.jsonl"
    if not path.is_file():
        return {}
    gold: dict[str, set[str]] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            sentences = {normalised(s) for s in item["sentences"]}
            gold.setdefault(str(item["query-id"]), set()).update(sentences)
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise InputError(f"{path}: line {number}: not an answer object ({exc})") from None
    return gold


def load_questions(path: Path) -> list[str]:
    """Questions from JSON Lines, one object with a ``text`` field per line (BEIR queries)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InputError(f"{path}: cannot read the questions ({exc.strerror})") from None
    questions: list[str] = []
    for number, line in enumerate(lines, start=1):
        if line.strip():
            try:
                questions.append(str(json.loads(line)["text"]))
            except (json.JSONDecodeError, KeyError, TypeError):
                raise InputError(f'{path}: line {number}: expected {{"text": ...}}') from None
    return questions


def cited_sentences(answer: Answer) -> list[tuple[str, str]]:
    """Each answer sentence with the document of the passage it cites."""
    docs = {c.number: c.hit.doc_id for c in answer.citations}
    return [(m.group(1), docs.get(int(m.group(2)), "")) for m in _CITED.finditer(answer.text)]


def evaluate_answers(
    db: AnswerDB,
    queries: dict[str, str],
    qrels: dict[str, dict[str, int]],
    mode: str,
    rationales: dict[str, set[str]] | None = None,
    progress: Progress | None = None,
) -> dict[str, float]:
    """Mean answer measures over the queries; rationale measures over those with rationales."""
    rows: list[dict[str, float]] = []
    for done, (qid, text) in enumerate(queries.items(), start=1):
        gold = rationales.get(qid) if rationales else None
        rows.append(_one_answer(db, text, qrels.get(qid, {}), mode, gold))
        if progress:
            progress(done, len(queries))
    result = {
        name: round(statistics.fmean(r[name] for r in rows), 4) if rows else 0.0
        for name in ("answered", "support", "first_cited")
    }
    judged = [r for r in rows if "rationale_hit" in r]
    for name in ("rationale_hit", "rationale_precision"):
        if judged:
            result[name] = round(statistics.fmean(r[name] for r in judged), 4)
    for name in ("ask_ms", "search_ms"):
        timings = [r[name] for r in rows[1:] or rows]  # the first query warms the process
        result[name.replace("_ms", "_p50_ms")] = round(statistics.median(timings), 1)
    return result


def _one_answer(
    db: AnswerDB, text: str, relevant: dict[str, int], mode: str, gold: set[str] | None
) -> dict[str, float]:
    db.clear_cache()  # each timed as a new question: its vector is made anew
    search_ms, _ = _timed(lambda: db.search(text, k=10, mode=mode))
    db.clear_cache()
    ask_ms, answer = _timed(lambda: db.ask(text, mode=mode))
    sentences = cited_sentences(answer)
    row = {
        "answered": float(answer.answered),
        "support": _share([doc in relevant for _, doc in sentences]),
        "first_cited": float(bool(answer.citations) and answer.citations[0].hit.doc_id in relevant),
        "ask_ms": ask_ms,
        "search_ms": search_ms,
    }
    if gold is not None:
        found = [normalised(s) in gold for s, _ in sentences]
        row["rationale_hit"] = float(any(found))
        row["rationale_precision"] = _share(found)
    return row


def declined(db: AnswerDB, questions: list[str], mode: str) -> float:
    """The share of (off-domain) questions the knowledge base says it cannot answer."""
    if not questions:
        return 0.0
    return round(sum(not db.ask(q, mode=mode).answered for q in questions) / len(questions), 4)


def load_sections(corpus: Path) -> dict[str, str]:
    """Each document's ``metadata.section`` by id; {} when the corpus has none."""
    sections: dict[str, str] = {}
    with corpus.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                record: dict[str, Any] = json.loads(line)
                section = (record.get("metadata") or {}).get(SECTION)
                if section is not None:
                    sections[str(record["_id"])] = str(section)
    return sections


def evaluate_reading(db: AnswerDB, sections: dict[str, str], k: int = 5) -> dict[str, float]:
    """Keep Reading's same-section precision (and chance), the automatic series' number and
    their NMI against the sections."""
    stored = [d.doc_id for d in db.documents() if d.doc_id in sections]
    listed = {doc_id: [r.doc_id for r in db.related(doc_id, k)] for doc_id in stored}
    auto = [s for s in db.series() if s.auto]
    grouped = {d.doc_id: s.name for s in auto for d in s.articles if d.doc_id in sections}
    ids = sorted(grouped)
    return {
        "keep_reading_same_section": round(same_label_precision(listed, sections), 4),
        "keep_reading_chance": round(chance_precision({d: sections[d] for d in stored}), 4),
        "keep_reading_listed": round(sum(map(len, listed.values())) / max(len(stored), 1), 2),
        "series": float(len(auto)),
        "sections": float(len(set(sections.values()))),
        "series_nmi": round(nmi([grouped[d] for d in ids], [sections[d] for d in ids]), 4),
    }


def _timed(call: Callable[[], T]) -> tuple[float, T]:
    """Milliseconds a call took, and what it returned."""
    started = time.perf_counter()
    value = call()
    return 1000 * (time.perf_counter() - started), value


def _share(flags: list[bool]) -> float:
    return sum(flags) / len(flags) if flags else 0.0
