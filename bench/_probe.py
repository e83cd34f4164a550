"""One engine in a fresh process: ``build`` its files, or ``query`` them and measure.

A fresh process per engine keeps resident memory honest (nothing left from another engine or
from building) and time-to-first-result cold in the process (the files may be in the page
cache, as on a server that restarts). Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from _data import CACHE, FILTER_QUERIES, SELECTIVITY, K, recall
from _engines import ENGINES, Engine

WARM_QUERIES = 1000
MODULES = {
    "answerdb": ["answerdb.store.embedded.store"],
    "answerdb-f16": ["answerdb.store.embedded.store"],
    "hnswlib": ["hnswlib"],
    "faiss-hnsw": ["faiss"],
    "faiss-ivfpq": ["faiss"],
    "chroma": ["chromadb"],
    "lancedb": ["lancedb"],
    "milvus-lite": ["pymilvus"],
}


def rss_mb() -> float:
    """Resident memory of this process (Linux /proc)."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * 4096 / 1e6


def build(engine: Engine, name: str, folder: Path) -> dict[str, Any]:
    base = np.load(CACHE / f"{name}.base.npy")
    buckets = np.load(CACHE / f"{name}.npz")["buckets"]
    started = time.perf_counter()
    extra = engine.build(base, buckets, folder)
    seconds = time.perf_counter() - started
    return {"build_s": round(seconds, 2), "disk_bytes": engine.disk(folder), **extra}


def _run(engine: Engine, queries: np.ndarray, knob: int, budget: float) -> tuple[list[Any], float]:
    found: list[Any] = []
    started = time.perf_counter()
    for query in queries:
        found.append(engine.search(query, K, knob))
        if time.perf_counter() - started > budget and len(found) >= 50:
            break
    return found, len(found) / (time.perf_counter() - started)


def sweep(engine: Engine, queries: np.ndarray, truth: np.ndarray, budget: float) -> list[Any]:
    """QPS and recall@10 at each knob, from fast to accurate; stops once recall ≥ 0.995."""
    points = []
    for knob in engine.knobs:
        found, qps = _run(engine, queries, knob, budget)
        points.append({"knob": knob, "recall": recall(found, truth), "qps": round(qps, 1)})
        if points[-1]["recall"] >= 0.995:
            break
    return points


def filtered(engine: Engine, name: str, queries: np.ndarray, knob: int, budget: float) -> Any:
    saved = np.load(CACHE / f"{name}.npz")
    result = {}
    for label, limit in SELECTIVITY.items():
        truth = saved[f"f{label}"]
        found, started = [], time.perf_counter()
        for query in queries[:FILTER_QUERIES]:
            found.append(engine.filtered(query, K, limit, knob))
            if time.perf_counter() - started > budget and len(found) >= 20:
                break
        qps = len(found) / (time.perf_counter() - started)
        result[label] = {"recall": round(recall(found, truth), 4), "qps": round(qps, 1)}
    return result


def query(engine: Engine, name: str, folder: Path, budget: float) -> dict[str, Any]:
    queries = np.load(CACHE / f"{name}.queries.npy")
    saved = np.load(CACHE / f"{name}.npz")
    truth, buckets = saved["truth"], saved["buckets"]
    for module in MODULES.get(engine.name, []):
        __import__(module)  # library start-up is not the cost of opening the data
    baseline = rss_mb()
    started = time.perf_counter()
    engine.open(folder, queries.shape[1], buckets)
    opened = time.perf_counter() - started
    rss_open = rss_mb()
    engine.search(queries[0], K, engine.knobs[len(engine.knobs) // 2])
    first = time.perf_counter() - started
    _run(engine, queries[:WARM_QUERIES], engine.knobs[len(engine.knobs) // 2], budget)
    rss_queries = rss_mb()
    points = sweep(engine, queries, truth, budget)
    good = [p for p in points if p["recall"] >= 0.95]
    knob = good[0]["knob"] if good else engine.knobs[-1]
    hits = getattr(engine, "search_hits", None)
    if hits is not None:  # the same search returning whole hits (text, metadata) too
        started, done = time.perf_counter(), 0
        for query in queries:
            hits(query, K, knob)
            done += 1
            if time.perf_counter() - started > budget and done >= 50:
                break
        hits_qps = round(done / (time.perf_counter() - started), 1)
    return {
        "hits_qps": hits_qps if hits is not None else None,
        "rss_imports_mb": round(baseline, 1),
        "rss_open_mb": round(rss_open, 1),
        "rss_queries_mb": round(rss_queries, 1),
        "open_s": round(opened, 3),
        "first_result_s": round(first, 3),
        "sweep": points,
        "filtered_knob": knob,
        "filtered": filtered(engine, name, queries, knob, budget),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=("build", "query"))
    parser.add_argument("engine", choices=sorted(ENGINES))
    parser.add_argument("name", help="the bench set's cache name")
    parser.add_argument("folder", type=Path)
    parser.add_argument("--budget", type=float, default=20.0, help="seconds per sweep point")
    args = parser.parse_args()
    engine = ENGINES[args.engine]()
    if args.mode == "build":
        result = build(engine, args.name, args.folder)
    else:
        result = query(engine, args.name, args.folder, args.budget)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
