"""Text ingest against the bare embedding model: passages per second, same texts, one run.

    python bench/ingest.py                       # 600 SciFact documents, MiniLM, 3 rounds
    python bench/ingest.py --model minilm-static-256 --docs 5183 --batched
    python bench/ingest.py --model minilm-static-256 --docs 13857 \
        --corpus ../shared/data/beir/scifact --corpus ../shared/data/beir/arguana
    python bench/ingest.py --model minilm-static-256 --docs 27714 --copies 2 --index-later \
        --corpus ../shared/data/beir/scifact --corpus ../shared/data/beir/arguana

The corpus is a deterministic subset of one or more BEIR ``corpus.jsonl`` files (their records
one after another, repeated under new ids with --copies, then evenly spaced ones picked),
written to a temporary folder as JSONL files. Each round measures, after a warm-up, (a) the
bare model embedding exactly the texts ingest would embed (same reader, de-duplication,
splitting and heading context) in one call (and, with --batched, in ingest-sized calls),
then (b) ``ingest`` into a new knowledge base end to end, and (c) the same ingest with the
model's vectors looked up instead of computed: the store side alone (reading, splitting,
SQLite with FTS5, the graph), the ceiling that no overlap with the model can pass; with
--index-later, (d) ingest leaving the graph to ``reindex`` (as ``answerdb ingest
--index-later``), then that reindex, timed on its own. The model
side and ingest each get a freshly loaded model (loading is reported on its own, not timed),
so that a model's caches (the static model's word memo) start empty, as on new text. Prints
JSON, then a table: passages/s, the cores each side kept busy (process CPU time / wall time)
and the ratio model / side, taken per round.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from answerdb.db import AnswerDB
from answerdb.embed import DEFAULT_MODEL, Embedder, load_embedder
from answerdb.embed.base import Progress, Vectors
from answerdb.ingest import iter_sources, read_path
from answerdb.ingest.embedding import BATCH_PASSAGES
from answerdb.ingest.pipeline import MAX_PASSAGE_WORDS, batch_texts, new_documents
from answerdb.store import open_store

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "data" / "beir" / "scifact"
WARM_UP_PASSAGES = 64
KEYS = ("passages_per_s", "cores_busy", "passages_per_cpu_s")


def write_corpus(
    corpora: Sequence[Path], docs: int, files: int, folder: Path, copies: int = 1
) -> int:
    """Write ``docs`` evenly spaced records of the ``corpora`` files (one after another,
    ``copies`` times, each copy's ids suffixed so that it is new text to a store) as
    ``files`` JSONL files."""
    text = "\n".join(corpus.read_text(encoding="utf-8") for corpus in corpora)
    lines = [line for line in text.splitlines() if line.strip()]
    lines += [_copy(line, n) for n in range(1, copies) for line in lines]
    picked = [lines[i * len(lines) // docs] for i in range(min(docs, len(lines)))]
    folder.mkdir(parents=True)
    per_file = -(-len(picked) // files)
    for n, start in enumerate(range(0, len(picked), per_file)):
        chunk = picked[start : start + per_file]
        (folder / f"part-{n:03d}.jsonl").write_text("\n".join(chunk) + "\n", encoding="utf-8")
    return len(picked)


def _copy(line: str, n: int) -> str:
    record = json.loads(line)
    record["_id"] = f"{record['_id']}~{n}"
    return json.dumps(record)


def ingest_texts(folder: Path) -> list[str]:
    """The texts ``ingest`` embeds for ``folder`` into a new knowledge base, in order: the
    same readers, de-duplication, splitting and heading context."""
    docs = [doc for file, base in iter_sources([folder]) for doc in read_path(file, base)]
    pending, _ = new_documents(docs, lambda hashes: set(), MAX_PASSAGE_WORDS)
    return batch_texts(pending)


class LookedUp:
    """An embedder that returns the vectors a model already made for the same texts."""

    def __init__(self, model: Embedder, texts: list[str]) -> None:
        self.name, self.revision, self.dim = model.name, model.revision, model.dim
        self._vectors = dict(zip(texts, model.embed(texts), strict=True))

    def embed(self, texts: Sequence[str], progress: Progress | None = None) -> Vectors:
        return np.stack([self._vectors[text] for text in texts])

    def embed_query(self, text: str) -> Vectors:
        return self._vectors[text]


def timed(work: Callable[[], object], passages: int) -> dict[str, float]:
    """Passages per second of ``work``, the cores it kept busy (CPU time / wall time) and
    passages per CPU second (what it would do on cores of its own: other load cancels out).
    CPU time includes child processes that ended meanwhile (the static model's embedder)."""
    wall, cpu = time.perf_counter(), _cpu_seconds()
    work()
    wall, cpu = time.perf_counter() - wall, _cpu_seconds() - cpu
    return {
        "passages_per_s": passages / wall,
        "cores_busy": cpu / wall,
        "passages_per_cpu_s": passages / cpu,
    }


def _cpu_seconds() -> float:
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def model_in_batches(embedder: Embedder, texts: list[str]) -> None:
    for start in range(0, len(texts), BATCH_PASSAGES):
        embedder.embed(texts[start : start + BATCH_PASSAGES])


def ingest_once(
    embedder: Embedder, folder: Path, kb: Path, expected: int, index_later: bool = False
) -> dict[str, float]:
    """One ingest into a new knowledge base (as answerdb.open makes it, with the model
    already loaded); exits when it embedded other passages than the model side did. With
    ``index_later``, also the rows it left to reindex and that reindex's seconds."""
    shutil.rmtree(kb, ignore_errors=True)
    db = AnswerDB(open_store(kb), model=embedder.name, embedder=embedder)
    passages: list[int] = []
    try:
        result = timed(
            lambda: passages.append(
                db.ingest([folder], on_error="raise", index_later=index_later).passages
            ),
            expected,
        )
        if index_later:
            result["waiting_rows"] = db.stats()["index_waiting_rows"]
            start = time.perf_counter()
            db.reindex()
            result["reindex_s"] = time.perf_counter() - start
    finally:
        db.close()
    if passages != [expected]:
        raise SystemExit(f"ingest embedded {passages} passages, the model side {expected}")
    return result


def measure_round(
    load: Callable[[], Embedder],
    store_only: LookedUp,
    texts: list[str],
    folder: Path,
    kb: Path,
    batched: bool,
    index_later: bool,
) -> dict[str, dict[str, float]]:
    """The model alone, ingest, and the store alone, back to back (a busy machine slows all
    alike); each side that embeds gets a model of its own from ``load``, loaded untimed."""
    n = len(texts)
    model = load()
    sides = {"model": timed(lambda: model.embed(texts), n)}
    if batched:
        model = load()
        sides["model_batched"] = timed(lambda: model_in_batches(model, texts), n)
    sides["ingest"] = ingest_once(load(), folder, kb, n)
    sides["store"] = ingest_once(store_only, folder, kb, n)
    if index_later:
        sides["ingest_later"] = ingest_once(load(), folder, kb, n, index_later=True)
    return sides


def run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    folder = work / "corpus"
    corpora = [Path(c) / "corpus.jsonl" for c in args.corpus or [CORPUS]]
    docs = write_corpus(corpora, args.docs, args.files, folder, args.copies)
    start = time.perf_counter()
    texts = ingest_texts(folder)
    prepare_s = time.perf_counter() - start
    start = time.perf_counter()
    embedder = load_embedder(args.model, threads=args.threads)
    load_s = time.perf_counter() - start
    # Warm-up: first-call allocations and the first knowledge base are not throughput.
    embedder.embed(texts[:WARM_UP_PASSAGES])
    ingest_once(embedder, folder, work / "kb", len(texts))
    store_only = LookedUp(embedder, texts)
    rounds = [
        measure_round(
            lambda: load_embedder(args.model, threads=args.threads),
            store_only,
            texts,
            folder,
            work / "kb",
            args.batched,
            args.index_later,
        )
        for _ in range(args.rounds)
    ]
    medians = {
        side: {
            **{key: round(statistics.median(r[side][key] for r in rounds), 2) for key in KEYS},
            "model_to_side": _median_ratio(rounds, side, "passages_per_s"),
            "model_to_side_cpu": _median_ratio(rounds, side, "passages_per_cpu_s"),
        }
        for side in rounds[0]
    }
    return {
        "corpus": [str(c.parent) for c in corpora],
        "documents": docs,
        "files": args.files,
        "passages": len(texts),
        "model": embedder.name,
        "cpus": os.cpu_count(),
        "threads": args.threads or os.cpu_count(),
        "model_load_s": round(load_s, 2),
        "read_split_s": round(prepare_s, 3),
        "rounds": [
            {side: {k: round(v, 2) for k, v in r[side].items()} for side in r} for r in rounds
        ],
        "median": medians,
        "ratio_model_to_ingest": medians["ingest"]["model_to_side"],
        "cpu_ratio_model_to_ingest": medians["ingest"]["model_to_side_cpu"],
    }


def _median_ratio(rounds: list[dict[str, dict[str, float]]], side: str, key: str) -> float:
    """The model's figure over the side's, within each round (a busy machine slows both of a
    round alike), then the median over the rounds."""
    return round(statistics.median(r["model"][key] / r[side][key] for r in rounds), 3)


def table(report: dict[str, Any]) -> str:
    names = {
        "model": "bare model, one call",
        "model_batched": f"bare model, {BATCH_PASSAGES}-passage calls",
        "ingest": "ingest end to end",
        "store": "store alone (vectors looked up)",
        "ingest_later": "ingest, graph left to reindex",
    }
    columns = ["passages/s", "cores busy", "model/side", "per CPU s", "model/side"]
    lines = [f"{'side':<32}" + "".join(f"  {c:>10}" for c in columns)]
    lines.append("-" * len(lines[0]))
    for side, f in report["median"].items():
        cells = [
            f"{f['passages_per_s']:.1f}",
            f"{f['cores_busy']:.2f}",
            f"{f['model_to_side']:.2f}",
            f"{f['passages_per_cpu_s']:.1f}",
            f"{f['model_to_side_cpu']:.2f}",
        ]
        lines.append(f"{names[side]:<32}" + "".join(f"  {c:>10}" for c in cells))
    lines.append(
        "\nmodel/side: the model's figure over the side's within each round, then the median; "
        "per CPU s: passages per second of process CPU time, steady when other work shares "
        "the cores"
        f"\n{report['model']}: {report['documents']} documents, {report['passages']} passages, "
        f"{report['threads']} model threads on {report['cpus']} CPUs; medians of "
        f"{len(report['rounds'])} rounds; model load {report['model_load_s']} s; the model "
        f"side's texts were read and split in {report['read_split_s']} s (not in its figure)"
    )
    if "ingest_later" in report["median"]:
        later = [r["ingest_later"] for r in report["rounds"]]
        waited = statistics.median(r["waiting_rows"] for r in later)
        reindex = statistics.median(r["reindex_s"] for r in later)
        lines.append(
            f"ingest, graph left to reindex: {waited:.0f} rows waited for it (median); "
            f"the reindex after it took {reindex:.1f} s"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--corpus",
        action="append",
        help="a BEIR folder with corpus.jsonl (again for more, taken one after another;"
        " default: SciFact)",
    )
    parser.add_argument("--docs", type=int, default=600, help="documents in the subset")
    parser.add_argument(
        "--copies",
        type=int,
        default=1,
        help="repeat the corpora this many times under new ids (a corpus past the size below"
        " which the store builds no graph)",
    )
    parser.add_argument("--files", type=int, default=6, help="JSONL files to spread them over")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of both sides (median)")
    parser.add_argument("--model", default=DEFAULT_MODEL, help="embedding model name")
    parser.add_argument("--threads", type=int, help="model threads (default: the CPU count)")
    parser.add_argument(
        "--batched",
        action="store_true",
        help=f"also time the model on {BATCH_PASSAGES}-passage calls, as ingest calls it",
    )
    parser.add_argument(
        "--index-later",
        action="store_true",
        help="also time ingest leaving the graph to reindex, and that reindex",
    )
    parser.add_argument("--json", type=Path, help="also write the JSON here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="answerdb-bench-ingest-") as tmp:
        report = run(args, Path(tmp))
    text = json.dumps(report, indent=1)
    if args.json:
        args.json.write_text(text)
    print(text)
    print(table(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
