"""Reading features against a BEIR corpus whose records carry ``metadata.section``.

The knowledge base is built WITHOUT the section (a judging label, never an input): the
records are copied to a temporary JSONL with it removed, then ingested. The section then
scores Keep Reading (same-section precision@k against chance) and the automatic series
(their number against the sections', and NMI).

    python bench/reading.py ../shared/data/beir/faq-python/corpus.jsonl
    python bench/reading.py corpus.jsonl --kb /tmp/faq-kb    # reused when it exists
    python bench/reading.py --faq-set zsh-faq /tmp/faq-sets  # chapters of a Debian FAQ package
    python bench/reading.py --faq-set perl-faq /tmp/faq-sets # perlfaq1-9, perlfaq4 by part
    python bench/reading.py corpus.jsonl --shuffle           # without the author's order
"""

from __future__ import annotations

import argparse
import json
import random
import re
import tempfile
import time
from pathlib import Path
from typing import Any

import answerdb
from answerdb.answer.measures import chance_precision, nmi, same_label_precision

SECTION = "section"


def read_labelled(corpus: Path) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """The records with their section removed, and each record's section by id."""
    records: list[dict[str, Any]] = []
    labels: dict[str, str] = {}
    for line in corpus.read_text(encoding="utf-8").splitlines():
        if line.strip():
            record = json.loads(line)
            meta = dict(record.get("metadata") or {})
            labels[str(record["_id"])] = str(meta.pop(SECTION, ""))
            records.append({**record, "metadata": meta})
    return records, labels


def build(records: list[dict[str, Any]], kb: Path) -> answerdb.AnswerDB:
    """The knowledge base at ``kb``, ingested from the (unlabelled) records unless it holds
    them already."""
    db = answerdb.open(kb)
    if len(db.documents()) >= len(records):
        return db
    with tempfile.TemporaryDirectory() as tmp:
        unlabelled = Path(tmp) / "corpus.jsonl"
        unlabelled.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
        db.ingest([unlabelled], on_error="raise")
    return db


def measure(db: answerdb.AnswerDB, labels: dict[str, str], k: int) -> dict[str, Any]:
    started = time.perf_counter()
    neighbours = {doc_id: [r.doc_id for r in db.related(doc_id, k)] for doc_id in labels}
    related_s = time.perf_counter() - started
    started = time.perf_counter()
    series = db.series()
    series_s = time.perf_counter() - started
    found = {d.doc_id: s.name for s in series for d in s.articles}
    ids = [doc_id for doc_id in labels if doc_id in found]
    listed = sum(len(v) for v in neighbours.values())
    return {
        "articles": len(labels),
        "sections": len(set(labels.values())),
        f"precision@{k}": round(same_label_precision(neighbours, labels), 3),
        "chance": round(chance_precision(labels), 3),
        "listed_per_article": round(listed / max(len(labels), 1), 2),
        # Under the relevance floor an article may get no Keep Reading at all.
        "with_keep_reading": round(sum(bool(v) for v in neighbours.values()) / len(labels), 2),
        "series": len(series),
        "nmi": round(nmi([labels[i] for i in ids], [found[i] for i in ids]), 3),
        "related_ms_per_article": round(1000 * related_s / max(len(labels), 1), 1),
        "series_s": round(series_s, 2),
        "series_sizes": [len(s.articles) for s in series],
    }


def faq_set(name: str, folder: Path) -> Path:
    """A sectioned BEIR corpus from a Debian package's FAQ: each question's chapter (number,
    or the Perl FAQ's part) is its section."""
    with tempfile.TemporaryDirectory() as tmp:
        found = _perl_faq(Path(tmp)) if name == "perl-faq" else _chaptered(name, Path(tmp))
    rows = []
    for chapter, question, a in found:
        if question.strip().endswith("?") and len(a.split()) >= 5:
            meta = {"heading": " ".join(question.split()), SECTION: chapter}
            rows.append({"_id": f"d{len(rows) + 1}", "title": "", "text": " ".join(a.split())})
            rows[-1]["metadata"] = meta
    corpus = folder / name / "corpus.jsonl"
    corpus.parent.mkdir(parents=True, exist_ok=True)
    corpus.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return corpus


def _chaptered(name: str, work: Path) -> list[tuple[str, str, str]]:
    """(chapter number, question, answer) of one of bench/faq_sets.py's sets."""
    import faq_sets  # beside this file

    package, member, parse = faq_sets.SETS[name]
    text = faq_sets.read_package_file(package, member, work)
    pairs = parse(_numbers_kept(text, _CHAPTERED[name]))
    return [(q.partition("§")[0], q.partition("§")[2], a) for q, a in pairs]


def _perl_faq(work: Path) -> list[tuple[str, str, str]]:
    """(part, question, answer) of perl-doc's perlfaq1 to 9: a part is a file, or one of
    perlfaq4's "Data: ..." headings; POD markup reduced to its text."""
    import faq_sets  # beside this file

    found: list[tuple[str, str, str]] = []
    for n in range(1, 10):
        pod = faq_sets.read_package_file("perl-doc", f"{_PERL_POD}/perlfaq{n}.pod", work)
        part = f"perlfaq{n}"
        for block in re.split(r"^(?==head[12] )", pod, flags=re.M):
            title, _, body = block.partition("\n")
            if title.startswith("=head1 Data:"):
                part = title[len("=head1 ") :]
            elif title.startswith("=head2 "):
                text = re.sub(r"^=\w+.*$", "", body, flags=re.M)
                found.append((part, _pod_text(title[len("=head2 ") :]), _pod_text(text)))
    return found


def _pod_text(text: str) -> str:
    """POD's formatting codes (C<...>, L<text|target>, E<gt>) as plain text."""
    text = re.sub(r"E<gt>", ">", re.sub(r"E<lt>", "<", text))
    text = re.sub(r"L<(?:[^|<>]*\|)?([^<>]*)>", r"\1", text)
    return re.sub(r"[A-Z]<+ ?([^<>]*?) ?>+", r"\1", text)


_PERL_POD = "usr/share/perl/5.36.0/pod"
# A numbered heading ("3.4. Question" or "3.4: Question") keeps its chapter as "3§Question".
_CHAPTERED = {
    "debian-faq": re.compile(r"^(\d+)\.(\d+\.\s+)", re.M),
    "zsh-faq": re.compile(r"^(\d+)\.(\d+:\s+)", re.M),
}


def _numbers_kept(text: str, heading: re.Pattern[str]) -> str:
    return heading.sub(lambda m: f"{m.group(1)}.{m.group(2)}{m.group(1)}§", text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("corpus", type=Path, help="corpus.jsonl, or the folder for --faq-set")
    parser.add_argument("--kb", type=Path, help="knowledge base folder (reused if present)")
    sets = [*sorted(_CHAPTERED), "perl-faq"]
    parser.add_argument("--faq-set", choices=sets, help="build this set first")
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument(
        "--shuffle", action="store_true", help="ingest the records in a random order (seed 0)"
    )
    args = parser.parse_args()
    corpus = faq_set(args.faq_set, args.corpus) if args.faq_set else args.corpus
    records, labels = read_labelled(corpus)
    if args.shuffle:  # placement (answer/placement.py) then has nothing to go on
        random.Random(0).shuffle(records)
    with tempfile.TemporaryDirectory() as tmp, build(records, args.kb or Path(tmp) / "kb") as db:
        result = measure(db, labels, args.k)
    print(json.dumps({"corpus": str(corpus), **result}))


if __name__ == "__main__":
    main()
