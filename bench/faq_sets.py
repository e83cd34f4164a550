"""Held-out FAQ sets in BEIR layout, built from FAQs that Debian's documentation packages carry.

    python bench/faq_sets.py /tmp/faq-sets          # fetches the packages with apt-get download
    answerdb eval /tmp/faq-sets/debian-faq          # and git-faq, sqlite-faq, zsh-faq

Retrieval defaults are tuned on SciFact, ArguAna and faq-python; these sets were never used for
that, so they show whether a change generalises to FAQ data. Each question becomes a query, its
answer (question removed) the one relevant document, as in faq-python. Only entries whose
heading is a question (ends in "?") count. The packages' text is read, never committed.

    debian-faq  debian-faq   /usr/share/doc/debian/FAQ/debian-faq.en.txt.gz  "1.2. Question"
    git-faq     git-doc      /usr/share/doc/git-doc/gitfaq.txt               "Question?::"
    sqlite-faq  sqlite3-doc  /usr/share/doc/sqlite3/faq.html                 "<b>(1) Question</b>"
    zsh-faq     zsh-common   /usr/share/doc/zsh-common/FAQ.gz                "1.2: Question"
"""

from __future__ import annotations

import argparse
import gzip
import html
import json
import re
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

Pairs = list[tuple[str, str]]


def debian_faq(text: str) -> Pairs:
    body = text.replace("\u00a0", " ")
    body = body[body.index("\nChapter 1.") :]  # past the table of contents
    return _numbered(body, re.compile(r"^\d+\.\d+\.\s+(.*)$"), re.compile(r"^(\d+\. |Chapter )"))


def zsh_faq(text: str) -> Pairs:
    body = text[text.index("\n1.1:") :]
    return _numbered(body, re.compile(r"^\d+\.\d+:\s+(.*)$"), re.compile(r"^Chapter \d+:"))


def git_faq(text: str) -> Pairs:
    text = re.sub(r"^.*\n-{3,}$|^\[\[.*\]\]$", "", text, flags=re.M)  # section titles, anchors
    pairs: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        if line.endswith("?::"):
            pairs.append((line[:-2], []))
        elif pairs:
            pairs[-1][1].append(line.strip("+\t "))
    return [(q, " ".join(body)) for q, body in pairs]


def sqlite_faq(text: str) -> Pairs:
    found = re.findall(r"<b>\(\d+\)\s*(.*?)</b></p>\s*<blockquote>(.*?)</blockquote>", text, re.S)
    return [(_plain(q), _plain(a)) for q, a in found]


def _numbered(body: str, heading: re.Pattern[str], chapter: re.Pattern[str]) -> Pairs:
    pairs: list[tuple[str, list[str]]] = []
    lines = body.splitlines()
    i = 0
    while i < len(lines):
        match = heading.match(lines[i])
        if match:  # a heading may run on over several unindented lines
            words = [match.group(1)]
            i += 1
            while i < len(lines) and lines[i].strip() and not lines[i].startswith(" "):
                words.append(lines[i].strip())
                i += 1
            pairs.append((" ".join(words), []))
            continue
        if chapter.match(lines[i]):
            pairs.append(("", []))  # text outside any question
        elif pairs:
            pairs[-1][1].append(lines[i])
        i += 1
    return [(q, " ".join(body)) for q, body in pairs if q]


def _plain(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", fragment))


SETS: dict[str, tuple[str, str, Callable[[str], Pairs]]] = {
    "debian-faq": ("debian-faq", "usr/share/doc/debian/FAQ/debian-faq.en.txt.gz", debian_faq),
    "git-faq": ("git-doc", "usr/share/doc/git-doc/gitfaq.txt", git_faq),
    "sqlite-faq": ("sqlite3-doc", "usr/share/doc/sqlite3/faq.html", sqlite_faq),
    "zsh-faq": ("zsh-common", "usr/share/doc/zsh-common/FAQ.gz", zsh_faq),
}


def write_set(folder: Path, pairs: Pairs) -> int:
    """Writes the questions that have an answer of five words or more; returns how many."""
    kept = [
        (" ".join(q.split()), " ".join(a.split()))
        for q, a in pairs
        if q.strip().endswith("?") and len(a.split()) >= 5
    ]
    (folder / "qrels").mkdir(parents=True, exist_ok=True)
    corpus = [{"_id": f"d{i}", "title": "", "text": a} for i, (_, a) in enumerate(kept, 1)]
    queries = [{"_id": f"q{i}", "text": q} for i, (q, _) in enumerate(kept, 1)]
    for name, rows in (("corpus", corpus), ("queries", queries)):
        lines = "".join(json.dumps(row) + "\n" for row in rows)
        (folder / f"{name}.jsonl").write_text(lines, encoding="utf-8")
    qrels = "".join(f"q{i}\td{i}\t1\n" for i in range(1, len(kept) + 1))
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\n" + qrels)
    return len(kept)


def read_package_file(package: str, member: str, work: Path) -> str:
    """One file of a Debian package, fetched with apt-get download and unpacked (once per
    ``work`` folder)."""
    if not (work / package).is_dir():
        subprocess.run(["apt-get", "download", package], cwd=work, check=True, capture_output=True)
        deb = next(work.glob(f"{package}_*.deb"))
        subprocess.run(["dpkg-deb", "-x", str(deb), str(work / package)], check=True)
    path = work / package / member
    raw = path.read_bytes()
    return (gzip.decompress(raw) if path.suffix == ".gz" else raw).decode("utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", type=Path, help="folder to write one BEIR folder per set into")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for name, (package, member, parse) in SETS.items():
            count = write_set(args.out / name, parse(read_package_file(package, member, Path(tmp))))
            print(f"{name}: {count} questions ({package})")


if __name__ == "__main__":
    main()
