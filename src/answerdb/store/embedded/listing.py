"""Documents listed without their text: all of them in the order they were added, or the
ones added beside one document from its source (its author's order, for Keep Reading)."""

from __future__ import annotations

import sqlite3
from typing import Any

import orjson

from answerdb.types import Document

_COLUMNS = "doc_id, source, title, question, metadata"


def documents(db: sqlite3.Connection) -> list[Document]:
    """Every document, oldest first (rowid breaks ties: a bulk import shares one time)."""
    sql = f"SELECT {_COLUMNS} FROM documents ORDER BY added_at, rowid"
    return [_listed(r) for r in db.execute(sql).fetchall()]


def neighbours(db: sqlite3.Connection, doc_id: str, width: int) -> list[tuple[int, Document]]:
    """The documents of ``doc_id``'s source within ``width`` places of it, by rowid (the order
    they were added in; a replaced document is added anew), each with its place."""
    own = db.execute("SELECT rowid, source FROM documents WHERE doc_id = ?", (doc_id,)).fetchone()
    if own is None or width <= 0:
        return []
    found: list[tuple[int, Document]] = []
    for sign, order in ((-1, "rowid < ? ORDER BY rowid DESC"), (1, "rowid > ? ORDER BY rowid")):
        sql = f"SELECT {_COLUMNS} FROM documents WHERE source = ? AND {order} LIMIT ?"
        rows = db.execute(sql, (own[1], own[0], width)).fetchall()
        found += [(sign * place, _listed(r)) for place, r in enumerate(rows, start=1)]
    return found


def _listed(row: tuple[Any, ...]) -> Document:
    return Document(
        doc_id=row[0],
        text="",
        source=row[1],
        title=row[2],
        question=row[3],
        metadata=orjson.loads(row[4]),
    )
