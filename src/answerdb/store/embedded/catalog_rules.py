"""What `check` asks of the catalog: rules that find what must not exist, each naming the
documents it finds and saying what to do (the catalog is the truth: nothing rebuilds it)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from answerdb.store.embedded.sums import NAMED, named

# Integrity errors SQLite reports, at most.
SQLITE_PROBLEMS = 5


@dataclass(frozen=True)
class Rule:
    """``sql`` selects the ids of the documents affected (``?``: the committed rows)."""

    sql: str
    meaning: str
    repairable: bool = False


RULES = [
    Rule(
        "SELECT DISTINCT doc_id FROM passages WHERE row < 0 OR row >= ?", "passages past meta.rows"
    ),
    Rule(
        "SELECT DISTINCT doc_id FROM passages p WHERE NOT EXISTS"
        " (SELECT 1 FROM documents d WHERE d.doc_id = p.doc_id)",
        "passages without their document",
        repairable=True,  # repair removes them
    ),
    Rule(
        "SELECT DISTINCT p.doc_id FROM passages p JOIN documents d ON d.doc_id = p.doc_id"
        " WHERE p.metadata IS NOT NULL AND p.metadata != d.metadata",
        "passages whose copy of their document's metadata differs (hits would show it)",
        repairable=True,  # repair copies the document's
    ),
    Rule(
        "SELECT doc_id FROM documents d WHERE NOT EXISTS"
        " (SELECT 1 FROM passages p WHERE p.doc_id = d.doc_id)",
        "documents without passages",
    ),
    Rule(
        "SELECT doc_id FROM passages GROUP BY doc_id"
        " HAVING min(ordinal) != 0 OR max(ordinal) != count(*) - 1",
        "documents with missing or repeated passages",
    ),
]


def catalog_problems(db: sqlite3.Connection, rows: int, kb: str) -> list[tuple[str, bool]]:
    """(message, repairable) for each rule broken; ``kb`` is the store's path, for advice."""
    found: list[tuple[str, bool]] = []
    for rule in RULES:
        doc_ids = [str(r[0]) for r in db.execute(rule.sql, (rows,) if "?" in rule.sql else ())]
        if doc_ids:
            advice = "" if rule.repairable else f"; {reingest(kb, doc_ids)}"
            found.append((f"{rule.meaning}: {named(doc_ids)}{advice}", rule.repairable))
    return found


def reingest(kb: str, doc_ids: list[str]) -> str:
    """What to do about documents stored wrong: delete them, then ingest their sources again
    (an unchanged document is otherwise skipped as already stored)."""
    ids = " ".join(doc_ids[:NAMED]) + (" …" if len(doc_ids) > NAMED else "")
    return f"delete them (`answerdb delete {kb} {ids}`) and ingest their sources again"


def integrity_problems(db: sqlite3.Connection) -> str | None:
    """SQLite's own integrity check, with what to do; None when it passes."""
    problems = [str(r[0]) for r in db.execute("PRAGMA integrity_check").fetchall()]
    if problems == ["ok"]:
        return None
    return (
        "SQLite integrity: "
        + "; ".join(problems[:SQLITE_PROBLEMS])
        + "; restore catalog.sqlite from a backup, or copy what still reads into a new store"
        " with `answerdb migrate`"
    )
