"""``where`` filters (answerdb/where.py) as SQL over the catalog's ``documents d``."""

from __future__ import annotations

import sqlite3
from typing import Any

from answerdb.errors import InputError
from answerdb.where import COLUMNS, RANGES, Where, check_where

_COMPARE = {"$eq": "=", "$ne": "!=", "$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}


def where_sql(where: Where | None) -> tuple[str, list[Any]]:
    """SQL (over ``documents d``) and its parameters; an empty filter is ``1``. InputError
    for a filter that does not check out."""
    check_where(where)
    if not where:
        return "1", []
    parts: list[str] = []
    params: list[Any] = []
    for key, condition in where.items():
        sql, args = (
            _operators(key, condition) if isinstance(condition, dict) else _equals(key, condition)
        )
        parts.append(sql)
        params.extend(args)
    return " AND ".join(parts), params


def _operators(key: str, condition: dict[str, Any]) -> tuple[str, list[Any]]:
    parts: list[str] = []
    params: list[Any] = []
    for op, value in condition.items():
        sql, args = _member(key, value) if op == "$in" else _compare(key, _COMPARE[op], value)
        parts.append(sql)
        params.extend(args)
    return "(" + " AND ".join(parts) + ")", params


def _column(key: str) -> str | None:
    return f"d.{key}" if key in COLUMNS else None


def _path(key: str) -> str:
    return '$."' + key + '"'


def _equals(key: str, value: Any) -> tuple[str, list[Any]]:
    column = _column(key)
    if column:
        return f"{column} = ?", [value]
    # json_each yields a scalar itself, or each item of a list (tags) to match any of them.
    sql = "EXISTS (SELECT 1 FROM json_each(d.metadata, ?) WHERE json_each.value = ?)"
    return sql, [_path(key), value]


def _member(key: str, values: list[Any]) -> tuple[str, list[Any]]:
    parts: list[str] = []
    params: list[Any] = []
    for value in values:
        sql, args = _equals(key, value)
        parts.append(sql)
        params.extend(args)
    return "(" + " OR ".join(parts) + ")", params


def _compare(key: str, op: str, value: Any) -> tuple[str, list[Any]]:
    column = _column(key)
    if column:
        return f"{column} {op} ?", [value]
    return f"json_extract(d.metadata, ?) {op} ?", [_path(key), value]


def refuse_mistyped_ranges(db: sqlite3.Connection, where: Where | None) -> None:
    """InputError when a range compares a field with a value of a kind the field never holds
    (a string against numbers, or a number against text): why a filter matches nothing."""
    for key, condition in (where or {}).items():
        if key in COLUMNS or not isinstance(condition, dict):
            continue
        ranged = [value for op, value in condition.items() if op in RANGES]
        if ranged:
            _refuse_other_kind(db, key, ranged[0])


def _refuse_other_kind(db: sqlite3.Connection, key: str, value: Any) -> None:
    sql = "SELECT DISTINCT json_type(metadata, ?) FROM documents"
    kinds = {row[0] for row in db.execute(sql, [_path(key)])}
    numbers, texts = bool(kinds & {"integer", "real"}), "text" in kinds
    if isinstance(value, str) and numbers and not texts:
        raise InputError(f"where: {key} holds numbers; compare it with a number, not {value!r}")
    if not isinstance(value, str) and texts and not numbers:
        raise InputError(f"where: {key} holds text; compare it with a string, not {value!r}")
