"""Retrieval evaluation on BEIR-format folders: nDCG@10, Recall@100, MRR@10, queries/s."""

from __future__ import annotations

import csv
import hashlib
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from answerdb.db import AnswerDB
from answerdb.embed import DEFAULT_MODEL
from answerdb.errors import InputError
from answerdb.ingest.pipeline import MAX_PASSAGE_WORDS

METRICS = ("ndcg@10", "recall@100", "mrr@10", "p@1")
# How many passages each query retrieves, so that at least 100 distinct documents remain.
PASSAGE_DEPTH = 300


@dataclass
class BeirSet:
    """A corpus file, its test queries and their graded relevant documents."""

    name: str
    corpus: Path
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]


def load_beir(folder: Path, split: str = "test") -> BeirSet:
    """Read ``corpus.jsonl``, ``queries.jsonl`` and ``qrels/<split>.tsv``; InputError if absent."""
    corpus, queries_file = folder / "corpus.jsonl", folder / "queries.jsonl"
    qrels_file = folder / "qrels" / f"{split}.tsv"
    for needed in (corpus, queries_file, qrels_file):
        if not needed.is_file():
            raise InputError(f"{folder}: not a BEIR folder, {needed.name} is missing")
    qrels = _read_qrels(qrels_file)
    queries = {qid: text for qid, text in _read_queries(queries_file).items() if qid in qrels}
    return BeirSet(folder.name, corpus, queries, qrels)


def _read_queries(path: Path) -> dict[str, str]:
    queries: dict[str, str] = {}
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                queries[str(item["_id"])] = str(item["text"])
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise InputError(f"{path}: line {number}: not a query object ({exc})") from exc
    return queries


def _read_qrels(path: Path) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = {}
    with path.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            score = int(row.get("score") or 0)
            if score > 0:
                qrels.setdefault(row["query-id"], {})[row["corpus-id"]] = score
    return qrels


def ndcg_at(ranked: list[str], relevant: dict[str, int], k: int = 10) -> float:
    """Normalised discounted cumulative gain of the first k documents (graded relevance)."""
    gain = sum(relevant.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranked[:k]))
    ideal = sorted(relevant.values(), reverse=True)[:k]
    best = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return gain / best if best else 0.0


def recall_at(ranked: list[str], relevant: dict[str, int], k: int = 100) -> float:
    """Share of the relevant documents found in the first k."""
    return len(set(ranked[:k]) & set(relevant)) / len(relevant) if relevant else 0.0


def mrr_at(ranked: list[str], relevant: dict[str, int], k: int = 10) -> float:
    """Reciprocal rank of the first relevant document within the first k."""
    return next((1.0 / (i + 1) for i, d in enumerate(ranked[:k]) if d in relevant), 0.0)


def rank_documents(db: AnswerDB, query_id: str, text: str, mode: str) -> list[str]:
    """Documents in order of their best passage; a document with the query's id is left out."""
    hits = db.search(text, k=PASSAGE_DEPTH, mode=mode)
    ranked = dict.fromkeys(h.doc_id for h in hits if h.doc_id != query_id)
    return list(ranked)


def evaluate(
    db: AnswerDB, data: BeirSet, mode: str, progress: Callable[[int, int], None] | None = None
) -> dict[str, float]:
    """Mean nDCG@10, Recall@100, MRR@10 and P@1 over the queries, and queries per second.

    P@1 is how often the first document — the one the answer is composed from — is relevant.
    """
    totals = {"ndcg@10": 0.0, "recall@100": 0.0, "mrr@10": 0.0, "p@1": 0.0}
    started = time.perf_counter()
    for done, (qid, text) in enumerate(data.queries.items(), start=1):
        ranked = rank_documents(db, qid, text, mode)
        relevant = data.qrels[qid]
        totals["ndcg@10"] += ndcg_at(ranked, relevant)
        totals["recall@100"] += recall_at(ranked, relevant)
        totals["mrr@10"] += mrr_at(ranked, relevant)
        totals["p@1"] += mrr_at(ranked, relevant, k=1)
        if progress:
            progress(done, len(data.queries))
    elapsed = time.perf_counter() - started
    count = max(len(data.queries), 1)
    result = {name: round(value / count, 4) for name, value in totals.items()}
    result["queries/s"] = round(count / elapsed, 1) if elapsed else 0.0
    result["queries"] = float(len(data.queries))
    return result


def cache_key(data: BeirSet, model: str, dtype: str) -> str:
    """Names the knowledge base built for a corpus: same content, model and settings, same key."""
    # Before there was a choice of model, the default's caches were keyed "default": keep them.
    model = "default" if model == DEFAULT_MODEL else model
    digest = hashlib.sha256()
    with data.corpus.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    digest.update(f"{model}|{dtype}|{MAX_PASSAGE_WORDS}|heading-context-v2".encode())
    return f"{data.name}-{digest.hexdigest()[:16]}"


def cached_kb(data: BeirSet, model: str) -> Path:
    """Where ``answerdb eval`` keeps the knowledge base it builds for a corpus and model."""
    return Path.home() / ".cache" / "answerdb" / "eval" / cache_key(data, model, "int8")


def compare(rows: list[dict[str, Any]], saved: dict[str, Any]) -> list[dict[str, Any]]:
    """Each row with the change of every metric against the same mode in a saved run."""
    before = {row["mode"]: row for row in saved.get("results", [])}
    compared: list[dict[str, Any]] = []
    for row in rows:
        old = before.get(row["mode"], {})
        deltas = {
            f"Δ{name}": round(row[name] - old[name], 4)
            for name in METRICS
            if isinstance(old.get(name), int | float)
        }
        compared.append({**row, **deltas})
    return compared
