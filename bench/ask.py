"""An answer next to a search: ask and search p50/p99 on the same knowledge base, and their ratio.

Each question is timed as a new one (its vector made anew for both), search first, then ask,
in one warm process. Two knowledge bases: the demo (built here with the default model unless
--demo-kb names one), and one of --passages passages from the shared BEIR corpora built with
the static model (a default-model build of that size takes hours on two cores); its questions
are the corpora's own queries.

    python bench/ask.py                                  # demo and 100,000 passages
    python bench/ask.py --passages 20000 --questions 100
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from serve import QUESTIONS

import answerdb
from answerdb.embed import STATIC_MODEL
from answerdb.types import Document

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "beir"
CORPORA = ("scifact", "arguana", "faq-python")


def timings(db: answerdb.AnswerDB, questions: list[str]) -> dict[str, float]:
    """p50 and p99 of search and ask over the questions (the first one warms up, untimed)."""
    db.ask(questions[0])
    search: list[float] = []
    ask: list[float] = []
    for question in questions:
        db.clear_cache()
        search.append(_ms(lambda q=question: db.search(q, k=10)))
        db.clear_cache()
        ask.append(_ms(lambda q=question: db.ask(q)))
    result = {
        "questions": float(len(questions)),
        "search_p50_ms": _percentile(search, 50),
        "search_p99_ms": _percentile(search, 99),
        "ask_p50_ms": _percentile(ask, 50),
        "ask_p99_ms": _percentile(ask, 99),
    }
    result["ask/search p50"] = round(result["ask_p50_ms"] / result["search_p50_ms"], 2)
    return result


def _ms(call: Callable[[], Any]) -> float:
    started = time.perf_counter()
    call()
    return 1000 * (time.perf_counter() - started)


def _percentile(values: list[float], q: int) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * q / 100))], 2)


def demo(path: Path | None, scratch: Path) -> dict[str, float]:
    kb = path or scratch / "demo"
    with answerdb.open(kb) as db:
        if not db.stats()["documents"]:
            db.ingest([ROOT / "data" / "demo"])
        return timings(db, QUESTIONS * 10)  # ten rounds: the demo has few questions


def corpus_documents(data: Path, limit: int) -> Iterator[Document]:
    """The shared corpora's records, until about ``limit`` passages (one per 200 words)."""
    words = 0
    for name in itertools.cycle(CORPORA):
        for line in (data / name / "corpus.jsonl").open(encoding="utf-8"):
            record = json.loads(line)
            text = str(record.get("text", ""))
            words += len(text.split())
            yield Document(f"{name}/{record['_id']}-{words}", text, name, str(record.get("title")))
            if words // 200 >= limit:
                return


def corpus_questions(data: Path, count: int) -> list[str]:
    found: list[str] = []
    for name in CORPORA:
        with (data / name / "queries.jsonl").open(encoding="utf-8") as fh:
            found += [json.loads(line)["text"] for line in itertools.islice(fh, count)]
    return found[::3][:count] if len(found) > count else found


def large(args: argparse.Namespace, scratch: Path) -> dict[str, float]:
    kb = args.large_kb or scratch / "large"
    with answerdb.open(kb, model=STATIC_MODEL) as db:
        if not db.stats()["documents"]:
            db.add(list(corpus_documents(args.data, args.passages)))
        result = timings(db, corpus_questions(args.data, args.questions))
        result["passages"] = float(db.stats()["passages"])
        return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo-kb", type=Path, help="a demo knowledge base to reuse")
    parser.add_argument("--large-kb", type=Path, help="a large knowledge base to reuse or build")
    parser.add_argument("--passages", type=int, default=100_000)
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--data", type=Path, default=DATA, help="the shared BEIR folders")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        rows = {
            "demo": demo(args.demo_kb, Path(scratch)),
            "large": large(args, Path(scratch)),
        }
    print(json.dumps(rows, indent=2))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2), encoding="utf-8")
    for name, row in rows.items():
        print(
            f"{name}: ask p50 {row['ask_p50_ms']} ms, search p50 {row['search_p50_ms']} ms, "
            f"ratio {row['ask/search p50']}",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
