"""Embedding speed: texts/s of each model on the same passages, in one process, one after another.

Passages are cut from a BEIR corpus as ingest cuts them (at most 180 words, the article's
title in front). Each model is loaded first (the static table or MiniLM's integer graph built
or read from its cache), then timed on the same texts. ``minilm-float-graph`` is MiniLM on the
pinned float graph (``ANSWERDB_MINILM_GRAPH=float``, the default before the integer graph):
the default's vectors are compared with its (mean and lowest cosine). Each model's query time
is the p50 of a 10-word question embedded alone, by the model loaded as answerdb loads it (all
cores; ``query_p50_ms``) and on ``--threads`` (``query_p50_ms_threads``). Prints JSON, then a
table with the ratio to MiniLM's float graph.

    python bench/embed.py                                  # 2,000 SciFact passages, 1 thread
    python bench/embed.py --models minilm-float-graph all-MiniLM-L6-v2 --passages 300   # quick
    python bench/embed.py --corpus ../shared/data/beir/arguana/corpus.jsonl --passages 5000
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np

from answerdb.embed import DEFAULT_MODEL, MODELS, Embedder, load_embedder
from answerdb.embed.minilm import MiniLMEmbedder
from answerdb.ingest import read_path, split_passages
from answerdb.ingest.pipeline import MAX_PASSAGE_WORDS

# MiniLM on its pinned float graph: the same model name, another revision (docs/models.md).
FLOAT_GRAPH = "minilm-float-graph"
QUESTION = "how do statins change the risk of heart attacks in older adults"
CORPUS = Path(__file__).parents[1] / ".." / "shared" / "data" / "beir" / "scifact" / "corpus.jsonl"


def passages(corpus: Path, count: int) -> list[str]:
    """The first ``count`` passages of the corpus, each with its article's heading."""
    texts: list[str] = []
    for doc in read_path(corpus):
        for text in split_passages(doc, max_words=MAX_PASSAGE_WORDS):
            texts.append(f"{doc.heading}\n{text}" if doc.heading else text)
            if len(texts) == count:
                return texts
    return texts


def load(model: str, threads: int | None) -> Embedder:
    """``model`` on ``threads`` (None: as answerdb loads it, on every core)."""
    if model == FLOAT_GRAPH:
        return MiniLMEmbedder(threads=threads, quantised=False)
    return load_embedder(model, threads=threads)


def measure(model: str, texts: list[str], threads: int) -> tuple[dict[str, Any], np.ndarray]:
    """The model's figures on ``texts``, and its vectors."""
    started = time.perf_counter()
    embedder = load(model, threads)
    loaded = time.perf_counter()
    embedder.embed(texts[:32])  # warm-up: first-call allocations are not throughput
    begun = time.perf_counter()
    vectors = embedder.embed(texts)
    seconds = time.perf_counter() - begun
    row = {
        "model": model,
        "revision": embedder.revision,
        "dim": embedder.dim,
        # Where it ran: MiniLM on the GPU when onnxruntime-gpu finds one (ANSWERDB_DEVICE).
        "device": getattr(embedder, "device", "cpu"),
        "load_s": round(loaded - started, 2),
        "embed_s": round(seconds, 2),
        "texts_per_s": round(len(texts) / seconds, 1),
        "query_p50_ms": query_p50_ms(load(model, None)),
        "query_p50_ms_threads": query_p50_ms(embedder),
    }
    return row, vectors


def query_p50_ms(embedder: Embedder, rounds: int = 50) -> float:
    """The median time to embed a 10-word question alone."""
    times = []
    for _ in range(rounds):
        begun = time.perf_counter()
        embedder.embed_query(QUESTION)
        times.append(time.perf_counter() - begun)
    return round(statistics.median(times) * 1000, 2)


def agreement(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    """Mean and lowest cosine between two models' vectors of the same texts."""
    cosines = (a * b).sum(axis=1)
    return {"mean": round(float(cosines.mean()), 4), "min": round(float(cosines.min()), 4)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS.resolve())
    parser.add_argument("--passages", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=1, help="onnxruntime threads (MiniLM)")
    choices = [FLOAT_GRAPH, *MODELS]
    parser.add_argument("--models", nargs="+", default=choices, choices=choices)
    args = parser.parse_args()
    texts = passages(args.corpus, args.passages)
    measured = {model: measure(model, texts, args.threads) for model in args.models}
    rows = [row for row, _ in measured.values()]
    base = next((r["texts_per_s"] for r in rows if r["model"] == FLOAT_GRAPH), None)
    for row in rows:
        row["vs_float_graph"] = round(row["texts_per_s"] / base, 2) if base else None
    cosine = None
    if FLOAT_GRAPH in measured and DEFAULT_MODEL in measured:
        cosine = agreement(measured[DEFAULT_MODEL][1], measured[FLOAT_GRAPH][1])
    words = sum(len(t.split()) for t in texts) / max(len(texts), 1)
    summary = {"passages": len(texts), "mean_words": round(words, 1), "results": rows}
    print(json.dumps({**summary, "cosine_default_vs_float": cosine}))
    print(f"{len(texts)} passages from {args.corpus.parent.name}, {words:.0f} words on average")
    for row in rows:
        print(
            f"{row['model']:>20}  {row['texts_per_s']:>9,.1f} texts/s  x{row['vs_float_graph']}"
            f"  query p50 {row['query_p50_ms']} ms ({row['query_p50_ms_threads']} ms on"
            f" {args.threads} thread(s))  ({row['embed_s']} s, loaded in"
            f" {row['load_s']} s)"
        )
    if cosine:
        print(f"default vs float graph, cosine: mean {cosine['mean']}, lowest {cosine['min']}")


if __name__ == "__main__":
    main()
