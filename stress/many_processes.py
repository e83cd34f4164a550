"""Many reader processes search while one writer adds, deletes and compacts.

    python -m stress.many_processes --readers 8 --seconds 60

Each reader checks, inside one catalog snapshot, that what it sees is a committed state:
a document it picks is found by keyword and by vector, every hit's document exists with all
of its passages, and the version it reads never goes backwards. Prints the counts as JSON.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import random
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

from answerdb.db import AnswerDB
from answerdb.errors import StoreError
from answerdb.store.embedded.store import READ_RETRIES, EmbeddedStore
from answerdb.types import Document

from .verify import expected_passages
from .workload import WordHashEmbedder, make_document, token_of


def _document(rng: random.Random, doc_id: str) -> Document:
    doc = make_document(rng, doc_id, "0")
    doc.metadata = {"passages": len(expected_passages(doc_id, doc.text)), "seed": rng.random()}
    return doc


def _reader(path: str, seed: int, stop: Any, results: Any, ready: Any) -> None:
    """Search until ``stop`` is set; put a dict of counts on ``results``."""
    rng = random.Random(seed)
    embedder = WordHashEmbedder()
    store = EmbeddedStore(Path(path), readonly=True)
    db = AnswerDB(store, model=embedder.name, embedder=embedder)
    counts: dict[str, Any] = {"searches": 0, "errors": 0, "retries": 0, "messages": []}
    ready.put(seed)
    last_version = -1
    while not stop.is_set():
        try:
            last_version = _one_look(db, store, rng, last_version, counts)
        except Exception:  # every error counts: readers must see no errors at all
            counts["errors"] += 1
            if len(counts["messages"]) < 5:
                counts["messages"].append(traceback.format_exc(limit=-4))
        if rng.random() < 0.02:  # now and then a fresh handle, as a new process would open
            db.close()
            store = EmbeddedStore(Path(path), readonly=True)
            db = AnswerDB(store, model=embedder.name, embedder=embedder)
    db.close()
    results.put(counts)


def _one_look(
    db: AnswerDB,
    store: EmbeddedStore,
    rng: random.Random,
    last_version: int,
    counts: dict[str, Any],
) -> int:
    catalog = store.catalog
    for _ in range(READ_RETRIES):
        try:
            with catalog.snapshot():
                return _look_in_snapshot(db, catalog, rng, last_version, counts)
        except StoreError:
            # A snapshot older than a compaction may find its files gone: look again, anew.
            counts["retries"] += 1
    with catalog.snapshot():
        return _look_in_snapshot(db, catalog, rng, last_version, counts)


def _look_in_snapshot(
    db: AnswerDB, catalog: Any, rng: random.Random, last_version: int, counts: dict[str, Any]
) -> int:
    version = int(catalog.version())
    if version < last_version:
        raise AssertionError(f"version went back from {last_version} to {version}")
    docs = db.documents()
    if not docs:
        return version
    doc = rng.choice(docs)
    text = db.document(doc.doc_id).text  # type: ignore[union-attr]
    first = expected_passages(doc.doc_id, text)[0]
    where = {"passages": {"$gte": 2}} if rng.random() < 0.3 else None
    for mode, query in (("keyword", token_of(text)), ("dense", f"On {doc.doc_id}\n{first}")):
        hits = db.search(query, k=5, mode=mode, where=where)
        counts["searches"] += 1
        found = [h.doc_id for h in hits]
        if doc.doc_id not in found and (where is None or doc.metadata["passages"] >= 2):
            raise AssertionError(f"{mode}: {doc.doc_id} not found in its own snapshot")
        for hit in hits:
            _check_hit(catalog, hit.doc_id, hit.metadata, where)
    db.search(rng.choice(["ka1 lo2 mi3", "nu4 pe5", "tok"]), k=10, mode="hybrid")
    counts["searches"] += 1
    return version


def _check_hit(catalog: Any, doc_id: str, metadata: dict[str, Any], where: Any) -> None:
    stored = catalog.db.execute("SELECT count(*) FROM passages WHERE doc_id = ?", (doc_id,))
    passages = int(stored.fetchone()[0])
    if passages != metadata["passages"]:
        raise AssertionError(f"{doc_id}: {passages} of {metadata['passages']} passages visible")
    if where and passages < 2:
        raise AssertionError(f"{doc_id}: returned though the filter excludes it")


def _write(path: Path, seconds: float, seed: int) -> dict[str, int]:
    """Add, delete and now and then compact, for ``seconds``."""
    rng = random.Random(seed)
    embedder = WordHashEmbedder()
    counts = {"adds": 0, "deletes": 0, "compactions": 0}
    with AnswerDB(EmbeddedStore(path), model=embedder.name, embedder=embedder) as db:
        live: list[str] = [d.doc_id for d in db.documents()]
        deadline = time.monotonic() + seconds
        n = 0
        while time.monotonic() < deadline:
            n += 1
            roll = rng.random()
            if roll < 0.25 and len(live) > 10:
                gone = rng.sample(live, rng.randint(1, 2))
                db.delete(gone)
                live = [i for i in live if i not in gone]
                counts["deletes"] += 1
            elif roll < 0.28:
                db.compact()
                counts["compactions"] += 1
            else:
                docs = [_document(rng, f"w{n}-{i}") for i in range(rng.randint(1, 3))]
                db.add(docs)
                live += [d.doc_id for d in docs]
                counts["adds"] += 1
    return counts


def run(path: Path, readers: int, seconds: float, seed: int = 0) -> dict[str, Any]:
    """Seed ``path``, start the readers, write for ``seconds``, gather every reader's counts."""
    embedder = WordHashEmbedder()
    rng = random.Random(seed)
    with AnswerDB(EmbeddedStore(path), model=embedder.name, embedder=embedder) as db:
        db.add([_document(rng, f"seed-{i}") for i in range(30)])
    ctx = mp.get_context("spawn")
    stop, results, ready = ctx.Event(), ctx.Queue(), ctx.Queue()
    procs = [
        ctx.Process(target=_reader, args=(str(path), seed * 100 + i, stop, results, ready))
        for i in range(readers)
    ]
    for proc in procs:
        proc.start()
    for _ in procs:
        ready.get(timeout=120)
    writer = _write(path, seconds, seed)
    stop.set()
    found = [results.get(timeout=120) for _ in procs]
    for proc in procs:
        proc.join(timeout=60)
    return {
        "readers": readers,
        "seconds": seconds,
        "writer": writer,
        "searches": sum(c["searches"] for c in found),
        "reader_errors": sum(c["errors"] for c in found),
        "snapshot_retries": sum(c["retries"] for c in found),
        "messages": [m for c in found for m in c["messages"]][:10],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readers", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    path = Path(tempfile.mkdtemp(prefix="answerdb-readers-")) / "kb"
    result = run(path, args.readers, args.seconds, args.seed)
    print(json.dumps(result, indent=2))
    return 0 if result["reader_errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
