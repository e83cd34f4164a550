"""Kill -9 `answerdb ingest` itself: the command's file pipeline, its embedding worker thread
and the bulk path (thousands of passages) on a store past the graph's threshold, so that kills
land while the graph grows and is saved. After every kill the store checks ok, every document
it shows is whole, and at the end the same command completes the ingest."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from answerdb.embed import STATIC_MODEL
from answerdb.ingest import read_path
from answerdb.ingest.pipeline import MAX_PASSAGE_WORDS, split_document
from answerdb.store import open_store
from answerdb.store.embedded.store import EXACT_LIMIT

KILLS = 4
WORDS = [f"w{i}" for i in range(3000)]


def write_corpus(folder: Path, files: int, passages: int, seed: int) -> Path:
    """``files`` text files of about ``passages`` passages each, words drawn at random."""
    rng = random.Random(seed)
    folder.mkdir(parents=True)
    for n in range(files):
        paragraphs = [
            " ".join(f"{' '.join(rng.choices(WORDS, k=11))}." for _ in range(10))
            for _ in range(passages * 2)
        ]
        (folder / f"f{seed}-{n}.txt").write_text("\n".join(paragraphs), encoding="utf-8")
    return folder


def ingest(kb: Path, corpus: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "answerdb.cli", "ingest", str(kb), str(corpus)]
    return subprocess.Popen(
        [*command, "--model", STATIC_MODEL],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def expected(corpus: Path) -> dict[str, int]:
    """Each document's passage count, as ingest splits it."""
    counts: dict[str, int] = {}
    for file in sorted(corpus.iterdir()):
        for doc in read_path(file, corpus):
            counts[doc.doc_id] = len(split_document(doc, MAX_PASSAGE_WORDS))
    return counts


def whole(kb: Path, counts: dict[str, int]) -> list[str]:
    """The documents shown with a passage count other than the one ingest gives them."""
    store = open_store(kb, readonly=True, create=False)
    try:
        return [
            d.doc_id
            for d in store.documents()
            if len(store.passages(d.doc_id)) != counts.get(d.doc_id, -1)
        ]
    finally:
        store.close()


def check(kb: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "answerdb.cli", "check", str(kb)]
    return subprocess.run(command, capture_output=True, text=True, timeout=300)


@pytest.mark.usefixtures("static_model")  # its table is built once, before the timed kills
def test_kills_of_the_ingest_command_leave_a_whole_store(tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    base = write_corpus(tmp_path / "base", files=8, passages=EXACT_LIMIT // 8 + 100, seed=1)
    # A fresh corpus each round, so that every killed command has thousands of passages to go.
    rounds = [write_corpus(tmp_path / f"more{i}", 10, 800, seed=2 + i) for i in range(KILLS)]
    counts = expected(base)
    for corpus in rounds:
        counts.update(expected(corpus))
    assert ingest(kb, base).wait(timeout=600) == 0  # past the graph's threshold
    rng = random.Random(7)
    landed = 0
    for more in rounds:
        child = ingest(kb, more)
        time.sleep(rng.uniform(0.3, 1.5))
        landed += child.poll() is None  # still at work: the kill cuts it short
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=60)
        done = check(kb)
        assert done.returncode == 0, done.stdout + done.stderr
        assert whole(kb, counts) == []
    assert landed >= 2
    for more in rounds:
        assert ingest(kb, more).wait(timeout=600) == 0
    store = open_store(kb, readonly=True, create=False)
    try:
        assert {d.doc_id for d in store.documents()} == set(counts)
    finally:
        store.close()
    assert check(kb).returncode == 0
