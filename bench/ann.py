"""Vector search at scale: answerdb's embedded store against its peers, same vectors, one run.

    python bench/ann.py --data ../shared/data/ann/glove-6B-50-angular.hdf5
    python bench/ann.py --synthetic 100000 --dim 384            # peers included up to 200k
    python bench/ann.py --synthetic 1000000 --dim 384 --max-minutes 40

Each engine is built, then opened and queried, in its own process (bench/_probe.py). Prints a
table and JSON: build time, bytes per vector on disk, RSS after open and after 1,000 queries,
open-to-first-result, single-thread QPS at recall@10 ≥ 0.95 and ≥ 0.99, filtered recall at
50/10/1/0.1% selectivity, and each peer's ratios to answerdb. answerdb answers with ids and
scores (`vector_ids`), as the bare indexes do; `hits_qps` is its QPS at the 0.95 setting when
whole hits (passage text and metadata) are fetched too, as `vector_search` does.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from _data import CACHE, glove, load, synthetic, vectors_file
from _engines import CORE, PEERS

PEER_LIMIT = 200_000  # Chroma, LanceDB and Milvus Lite are measured up to this size
PROBE = Path(__file__).parent / "_probe.py"


def prepare(args: argparse.Namespace) -> tuple[str, int, int]:
    """Make (or find) the set in the cache; returns its name, size and dimension."""
    if args.data:
        name = f"{Path(args.data).stem}-q{args.queries}"
        if not (CACHE / f"{name}.npz").exists():
            base, queries = glove(Path(args.data), args.queries)
            vectors_file(load(name, base, queries))
    else:
        name = f"synthetic-{args.synthetic}x{args.dim}-q{args.queries}-s{args.seed}"
        if not (CACHE / f"{name}.npz").exists():
            base, queries = synthetic(args.synthetic, args.dim, args.queries, args.seed)
            vectors_file(load(name, base, queries, args.seed))
    import numpy as np

    shape = np.load(CACHE / f"{name}.base.npy", mmap_mode="r").shape
    return name, int(shape[0]), int(shape[1])


def probe(
    mode: str, engine: str, name: str, folder: Path, args: argparse.Namespace, timeout: float
) -> dict[str, Any]:
    """Run bench/_probe.py; an engine that fails or is missing is reported, not fatal."""
    command = [
        sys.executable,
        str(PROBE),
        mode,
        engine,
        name,
        str(folder),
        "--budget",
        str(args.point_seconds),
    ]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"skipped": f"{mode} ran past the time budget ({timeout:.0f} s)"}
    if done.returncode != 0:
        lines = [line for line in done.stderr.strip().splitlines() if line.strip()]
        return {"skipped": f"{mode} failed: {lines[-1] if lines else done.returncode}"[:300]}
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def measure(
    engine: str, name: str, n: int, args: argparse.Namespace, deadline: float
) -> dict[str, Any]:
    folder = Path(args.work) / name / engine
    shutil.rmtree(folder, ignore_errors=True)
    left = deadline - time.monotonic()
    if left < 30:
        return {"skipped": "not measured: the --max-minutes budget ran out"}
    built = probe("build", engine, name, folder, args, left)
    if "skipped" in built:
        return built
    left = deadline - time.monotonic()
    queried = probe("query", engine, name, folder, args, max(left, 30))
    result = {**built, **queried, "bytes_per_vector": round(built["disk_bytes"] / n, 1)}
    if not args.keep:
        shutil.rmtree(folder, ignore_errors=True)
    return result


def best_qps(result: dict[str, Any], target: float) -> tuple[float | None, int | None]:
    """Highest QPS among sweep points whose recall reaches ``target``."""
    good = [p for p in result.get("sweep", []) if p["recall"] >= target]
    if not good:
        return None, None
    top = max(good, key=lambda p: p["qps"])
    return top["qps"], top["knob"]


def summarise(results: dict[str, dict[str, Any]]) -> None:
    """Add qps@0.95/0.99 and each engine's ratios to answerdb."""
    for result in results.values():
        for target in (0.95, 0.99):
            qps, knob = best_qps(result, target)
            result[f"qps@{target}"], result[f"knob@{target}"] = qps, knob
        result["max_recall"] = max((p["recall"] for p in result.get("sweep", [])), default=None)
    ours = results.get("answerdb", {})
    for result in results.values():
        ratios = {}
        for key in (
            "qps@0.95",
            "qps@0.99",
            "bytes_per_vector",
            "rss_open_mb",
            "first_result_s",
            "build_s",
        ):
            if result.get(key) and ours.get(key):
                ratios[key] = round(result[key] / ours[key], 2)
        result["ratio_to_answerdb"] = ratios


def _cell(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.3f}" if value < 10 else f"{value:,.0f}"
    return str(value)


def table(results: dict[str, dict[str, Any]]) -> str:
    columns = [
        "build_s",
        "bytes_per_vector",
        "rss_open_mb",
        "rss_queries_mb",
        "first_result_s",
        "qps@0.95",
        "hits_qps",
        "qps@0.99",
        "max_recall",
    ]
    labels = ["50%", "10%", "1%", "0.1%"]
    head = ["engine", *columns, *[f"filt {s}" for s in labels]]
    rows = [head]
    for engine, r in results.items():
        if "skipped" in r:
            rows.append([engine, f"skipped: {r['skipped']}"])
            continue
        filt = r.get("filtered", {})
        rows.append(
            [
                engine,
                *(_cell(r.get(c)) for c in columns),
                *(_cell(filt.get(s, {}).get("recall")) for s in labels),
            ]
        )
    widths = [
        max(len(row[i]) for row in rows if i < len(row) and len(row) > 2) for i in range(len(head))
    ]
    lines = []
    for row in rows:
        if len(row) == 2:
            lines.append(f"{row[0]:<{widths[0]}}  {row[1]}")
        else:
            lines.append(
                "  ".join(
                    c.rjust(w) if i else c.ljust(w)
                    for i, (c, w) in enumerate(zip(row, widths, strict=True))
                )
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", help="ann-benchmarks HDF5 file (angular)")
    source.add_argument("--synthetic", type=int, metavar="N", help="N synthetic vectors")
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--engines", help="comma-separated (default: core, plus peers ≤ 200k)")
    parser.add_argument("--max-minutes", type=float, default=120.0)
    parser.add_argument(
        "--point-seconds",
        type=float,
        default=20.0,
        help="time budget of one sweep point (slow engines answer fewer queries)",
    )
    parser.add_argument("--work", default=str(CACHE / "runs"), help="where engines build")
    parser.add_argument("--keep", action="store_true", help="keep the built files")
    parser.add_argument("--json", type=Path, help="also write the JSON here")
    args = parser.parse_args(argv)
    deadline = time.monotonic() + args.max_minutes * 60
    name, n, dim = prepare(args)
    engines = args.engines.split(",") if args.engines else CORE + (PEERS if n <= PEER_LIMIT else [])
    results: dict[str, dict[str, Any]] = {}
    for engine in engines:
        print(f"# {engine} …", file=sys.stderr, flush=True)
        results[engine] = measure(engine, name, n, args, deadline)
    summarise(results)
    report = {"set": name, "vectors": n, "dim": dim, "results": results}
    text = json.dumps(report, indent=1)
    if args.json:
        args.json.write_text(text)
    print(text)
    print(f"\n{name}: {n:,} x {dim}, recall@10, single-thread queries\n{table(results)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
