"""After a kill: does the store hold exactly what was committed, whole, and can it be searched?"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from answerdb.db import AnswerDB
from answerdb.ingest import split_passages
from answerdb.ingest.pipeline import MAX_PASSAGE_WORDS
from answerdb.store.embedded.store import EmbeddedStore

from .workload import WordHashEmbedder, document, token_of


@lru_cache(maxsize=20_000)
def expected_passages(doc_id: str, text: str) -> tuple[str, ...]:
    return tuple(split_passages(document(doc_id, text), max_words=MAX_PASSAGE_WORDS))


@dataclass
class Outcome:
    """What one verification found; ``problems`` empty means the store survived."""

    reported: int = 0
    lost: int = 0
    partial: int = 0
    in_flight: str = ""
    problems: list[str] = field(default_factory=list)


@dataclass
class Model:
    """What the store must hold: each committed document's text; tokens that must find nothing."""

    docs: dict[str, str] = field(default_factory=dict)
    gone: list[str] = field(default_factory=list)
    lines_seen: int = 0

    def apply(self, op: dict[str, Any]) -> None:
        if op["kind"] in ("add", "replace"):
            for doc_id, text in op["docs"].items():
                if doc_id in self.docs:
                    self.gone.append(token_of(self.docs[doc_id]))
                self.docs[doc_id] = text
        elif op["kind"] == "delete":
            for doc_id in op["ids"]:
                if doc_id in self.docs:
                    self.gone.append(token_of(self.docs.pop(doc_id)))


def verify(path: Path, journal: list[dict[str, Any]], model: Model, rng: random.Random) -> Outcome:
    """Reopen ``path`` as the next writer would and check it against ``model`` and the journal."""
    outcome = Outcome()
    new = journal[model.lines_seen :]
    model.lines_seen = len(journal)
    done = {entry["seq"] for entry in new if entry["state"] == "done"}
    flying = [e for e in new if e["state"] == "begin" and e["seq"] not in done]
    for entry in new:
        if entry["state"] == "done":
            model.apply(entry)
            outcome.reported += entry["kind"] in ("add", "replace", "delete")
    embedder = WordHashEmbedder()
    store = EmbeddedStore(path)
    with AnswerDB(store, model=embedder.name, embedder=embedder) as db:
        observed = {d.doc_id: _text(db, d.doc_id) for d in db.documents()}
        if flying:
            outcome.in_flight = flying[-1]["kind"]
            _resolve(flying[-1], model, observed, outcome)
        _compare(model, observed, outcome)
        _check_passages(store, model, outcome)
        _check_store(db, outcome)
        _check_search(db, model, flying, rng, outcome)
    return outcome


def _text(db: AnswerDB, doc_id: str) -> str:
    doc = db.document(doc_id)
    return doc.text if doc else ""


def _resolve(op: dict[str, Any], model: Model, observed: dict[str, str], out: Outcome) -> None:
    """The write in flight at the kill must be visible whole or not at all (invariant 2)."""
    if op["kind"] in ("add", "replace"):
        applied = [observed.get(i) == text for i, text in op["docs"].items()]
        before = [observed.get(i) == model.docs.get(i) for i in op["docs"]]
    elif op["kind"] == "delete":
        applied = [i not in observed for i in op["ids"]]
        before = [observed.get(i) == model.docs.get(i) for i in op["ids"]]
    else:
        return
    if all(applied):
        model.apply(op)
    elif not all(before):
        out.partial += 1
        out.problems.append(f"write {op['seq']} ({op['kind']}) is partly visible")


def _compare(model: Model, observed: dict[str, str], out: Outcome) -> None:
    for doc_id, text in model.docs.items():
        if observed.get(doc_id) != text:
            out.lost += 1
            out.problems.append(f"{doc_id}: committed text missing or different")
    for doc_id in observed.keys() - model.docs.keys():
        out.partial += 1
        out.problems.append(f"{doc_id}: visible but never committed")


def _check_passages(store: EmbeddedStore, model: Model, out: Outcome) -> None:
    rows = store.catalog.db.execute(
        "SELECT doc_id, text FROM passages ORDER BY doc_id, ordinal"
    ).fetchall()
    stored: dict[str, list[str]] = {}
    for doc_id, text in rows:
        stored.setdefault(doc_id, []).append(text)
    for doc_id, text in model.docs.items():
        if tuple(stored.get(doc_id, [])) != expected_passages(doc_id, text):
            out.partial += 1
            out.problems.append(f"{doc_id}: passages incomplete or extra")


def _check_store(db: AnswerDB, out: Outcome) -> None:
    report = db.check()
    out.problems += [f"check: {f.part}: {f.message}" for f in report.findings if f.level == "error"]


def _check_search(
    db: AnswerDB, model: Model, flying: list[dict[str, Any]], rng: random.Random, out: Outcome
) -> None:
    """Committed documents are found by keyword and by vector; replaced or deleted ones never."""
    ids = [i for op in flying for i in op["ids"] if i in model.docs]
    ids += rng.sample(sorted(model.docs), min(3, len(model.docs)))
    for doc_id in dict.fromkeys(ids):
        text = model.docs[doc_id]
        keyword = db.search(token_of(text), k=3, mode="keyword")
        if doc_id not in [h.doc_id for h in keyword]:
            out.problems.append(f"{doc_id}: not found by keyword")
        first = expected_passages(doc_id, text)[0]
        dense = db.search(f"On {doc_id}\n{first}", k=5, mode="dense")
        if doc_id not in [h.doc_id for h in dense]:
            out.problems.append(f"{doc_id}: not found by vector")
    for gone in model.gone[-3:]:
        if db.search(gone, k=3, mode="keyword"):
            out.problems.append(f"{gone}: a replaced or deleted passage was returned")
