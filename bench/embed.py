"""Embedding speed: texts/s of each model on the same passages, in one process, one after another.

Passages are cut from a BEIR corpus as ingest cuts them (at most 180 words, the article's
title in front). Each model is loaded first (the static table built or read from its cache),
then timed on the same texts. Prints JSON, then a table with the ratio to MiniLM.

    python bench/embed.py                                  # 2,000 SciFact passages, 1 thread
    python bench/embed.py --corpus ../shared/data/beir/arguana/corpus.jsonl --passages 5000
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from answerdb.embed import DEFAULT_MODEL, MODELS, load_embedder
from answerdb.ingest import read_path, split_passages
from answerdb.ingest.pipeline import MAX_PASSAGE_WORDS

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


def measure(model: str, texts: list[str], threads: int) -> dict[str, Any]:
    started = time.perf_counter()
    embedder = load_embedder(model, threads=threads)
    loaded = time.perf_counter()
    embedder.embed(texts[:32])  # warm-up: first-call allocations are not throughput
    begun = time.perf_counter()
    embedder.embed(texts)
    seconds = time.perf_counter() - begun
    return {
        "model": model,
        "dim": embedder.dim,
        "load_s": round(loaded - started, 2),
        "embed_s": round(seconds, 2),
        "texts_per_s": round(len(texts) / seconds, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS.resolve())
    parser.add_argument("--passages", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=1, help="onnxruntime threads (MiniLM)")
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    args = parser.parse_args()
    texts = passages(args.corpus, args.passages)
    rows = [measure(model, texts, args.threads) for model in args.models]
    base = next((r["texts_per_s"] for r in rows if r["model"] == DEFAULT_MODEL), None)
    for row in rows:
        row["vs_minilm"] = round(row["texts_per_s"] / base, 1) if base else None
    words = sum(len(t.split()) for t in texts) / max(len(texts), 1)
    print(json.dumps({"passages": len(texts), "mean_words": round(words, 1), "results": rows}))
    print(f"{len(texts)} passages from {args.corpus.parent.name}, {words:.0f} words on average")
    for row in rows:
        print(
            f"{row['model']:>20}  {row['texts_per_s']:>9,.1f} texts/s"
            f"  ({row['embed_s']} s, loaded in {row['load_s']} s)  x{row['vs_minilm']}"
        )


if __name__ == "__main__":
    main()
