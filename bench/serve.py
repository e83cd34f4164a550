"""Load on loopback: throughput and p50/p99 latency of /api/search and /api/ask.

Starts `answerdb serve KB` on 127.0.0.1 at a free port (or uses --url), then for each route
and each concurrency level sends a bounded number of requests (--requests, stopping early at
--seconds). Prints JSON, then a table. Every request must succeed: errors are counted.

    python bench/serve.py demo-kb                 # 1, 8 and 64 concurrent clients
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from typing import Any

import httpx

QUESTIONS = [
    "What are the career options related to computer vision?",
    "How do autoencoders detect anomalies?",
    "What is reciprocal rank fusion?",
    "How does an HNSW index work?",
    "What is retrieval-augmented generation?",
    "How is anomaly detection used for fraud detection?",
    "What is few-shot learning?",
    "How are objects tracked in video?",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(kb: str, readers: int) -> tuple[subprocess.Popen[bytes], str]:
    """`answerdb serve` in a child process; returns it with its base URL once healthy."""
    port = free_port()
    env = {**os.environ, "ANSWERDB_API_KEY": ""}
    command = [sys.executable, "-m", "answerdb.cli", "serve", kb, "--port", str(port)]
    command += ["--readers", str(readers)]
    child = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/health", timeout=2).status_code == 200:
                return child, url
        except httpx.HTTPError:
            time.sleep(0.2)
    child.kill()
    raise SystemExit("the server did not start")


def request_for(route: str, i: int) -> tuple[str, str, dict[str, Any]]:
    question = QUESTIONS[i % len(QUESTIONS)]
    if route == "search":
        return "GET", "/api/search", {"params": {"q": question, "k": 10}}
    return "POST", "/api/ask", {"json": {"question": question}}


async def run_level(
    url: str, route: str, clients: int, count: int, seconds: float
) -> dict[str, Any]:
    """``clients`` workers share ``count`` requests; all stop at ``seconds``."""
    latencies: list[float] = []
    errors = 0
    issued = 0
    deadline = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as http:

        async def worker() -> None:
            nonlocal issued, errors
            while issued < count and time.monotonic() < deadline:
                method, path, kwargs = request_for(route, issued)
                issued += 1
                start = time.perf_counter()
                try:
                    reply = await http.request(method, path, **kwargs)
                    ok = reply.status_code == 200
                except httpx.HTTPError:
                    ok = False
                latencies.append(time.perf_counter() - start)
                errors += not ok

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        elapsed = time.perf_counter() - began
    ordered = sorted(latencies)
    return {
        "route": f"/api/{route}",
        "clients": clients,
        "requests": len(ordered),
        "errors": errors,
        "req_per_s": round(len(ordered) / elapsed, 1),
        "p50_ms": round(statistics.median(ordered) * 1000, 1),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 1),
    }


def warm_up(url: str) -> None:
    """One pass over the questions, so that first-use costs stay out of the figures."""
    with httpx.Client(base_url=url, timeout=120) as http:
        for i in range(len(QUESTIONS)):
            for route in ("search", "ask"):
                method, path, kwargs = request_for(route, i)
                http.request(method, path, **kwargs).raise_for_status()


def table(rows: list[dict[str, Any]]) -> str:
    columns = ["route", "clients", "requests", "errors", "req_per_s", "p50_ms", "p99_ms"]
    widths = [max(len(c), *(len(str(r[c])) for r in rows)) for c in columns]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += [
        "  ".join(str(r[c]).ljust(w) for c, w in zip(columns, widths, strict=True)) for r in rows
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kb", nargs="?", help="knowledge base folder to serve")
    parser.add_argument("--url", help="measure a server already running on loopback instead")
    parser.add_argument("--levels", default="1,8,64", help="concurrent clients, comma-separated")
    parser.add_argument("--requests", type=int, default=200, help="requests per route and level")
    parser.add_argument("--seconds", type=float, default=30, help="time limit per route and level")
    parser.add_argument("--readers", type=int, default=4, help="the server's read handles")
    args = parser.parse_args()
    if not args.url and not args.kb:
        parser.error("give a knowledge base folder or --url")
    if args.url and not args.url.startswith(("http://127.", "http://localhost", "http://[::1]")):
        parser.error("--url must be a loopback address")
    child, url = (None, args.url) if args.url else start_server(args.kb, args.readers)
    try:
        warm_up(url)
        rows = [
            asyncio.run(run_level(url, route, int(c), args.requests, args.seconds))
            for route in ("search", "ask")
            for c in args.levels.split(",")
        ]
    finally:
        if child is not None:
            child.terminate()
            child.wait(timeout=30)
    print(json.dumps({"cpus": os.cpu_count(), "readers": args.readers, "results": rows}, indent=2))
    print(table(rows))
    return 1 if any(r["errors"] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
