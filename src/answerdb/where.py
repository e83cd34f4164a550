"""``where`` filters: a small JSON-style language turned into SQL over document metadata.

``{"series": "Video AI"}`` matches a value or a list containing it; an operator object such as
``{"year": {"$gte": 2020}}`` or ``{"tags": {"$in": ["rag", "llm"]}}`` compares. Several keys
must all match. Keys are metadata names, or ``doc_id`` / ``source`` for the document itself.
"""

from __future__ import annotations

import json
import re
from typing import Any

from answerdb.errors import InputError

Where = dict[str, Any]
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$")
_COMPARE = {"$eq": "=", "$ne": "!=", "$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}
_COLUMNS = {"doc_id": "d.doc_id", "source": "d.source"}
Scalar = (str, int, float, bool)
# SQLite limits an expression's depth (1,000) and integers to 64 bits: refuse early and clearly.
MAX_KEYS = 32
MAX_IN = 256
INT64 = 2**63


def where_sql(where: Where | None) -> tuple[str, list[Any]]:
    """SQL (over ``documents d``) and its parameters; an empty filter is ``1``."""
    if not where:
        return "1", []
    if not isinstance(where, dict):
        raise InputError(f"where: expected an object of key: value, got {type(where).__name__}")
    if len(where) > MAX_KEYS:
        raise InputError(f"where: {len(where)} keys; at most {MAX_KEYS}")
    parts: list[str] = []
    params: list[Any] = []
    for key, condition in where.items():
        sql, args = _clause(key, condition)
        parts.append(sql)
        params.extend(args)
    return " AND ".join(parts), params


def _clause(key: str, condition: Any) -> tuple[str, list[Any]]:
    if not isinstance(key, str) or not _KEY.match(key):
        raise InputError(f"where: {key!r} is not a valid metadata key")
    if isinstance(condition, dict):
        return _operators(key, condition)
    return _equals(key, condition)


def _operators(key: str, condition: dict[str, Any]) -> tuple[str, list[Any]]:
    if not condition:
        raise InputError(f"where: {key}: empty operator object")
    parts: list[str] = []
    params: list[Any] = []
    for op, value in condition.items():
        if op == "$in":
            sql, args = _member(key, value)
        elif op in _COMPARE:
            sql, args = _compare(key, _COMPARE[op], value)
        else:
            ops = ", ".join(sorted([*_COMPARE, "$in"]))
            raise InputError(f"where: {key}: unknown operator {op!r}; use one of {ops}")
        parts.append(sql)
        params.extend(args)
    return "(" + " AND ".join(parts) + ")", params


def _check_scalar(key: str, value: Any) -> None:
    if not isinstance(value, Scalar):
        raise InputError(f"where: {key}: expected a string, number or boolean, got {value!r}")
    if isinstance(value, int) and not -INT64 <= value < INT64:
        raise InputError(f"where: {key}: {value} is beyond 64-bit integers")
    if isinstance(value, str) and not _encodable(value):
        raise InputError(f"where: {key}: {value!r} is not valid Unicode text")


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate, as JSON's "\ud800" decodes to
        return False
    return True


def _path(key: str) -> str:
    return '$."' + key + '"'


def _equals(key: str, value: Any) -> tuple[str, list[Any]]:
    _check_scalar(key, value)
    if key in _COLUMNS:
        return f"{_COLUMNS[key]} = ?", [value]
    # json_each yields a scalar itself, or each item of a list (tags) to match any of them.
    sql = "EXISTS (SELECT 1 FROM json_each(d.metadata, ?) WHERE json_each.value = ?)"
    return sql, [_path(key), value]


def _member(key: str, values: Any) -> tuple[str, list[Any]]:
    if not isinstance(values, list) or not values:
        raise InputError(f"where: {key}: $in takes a non-empty list")
    if len(values) > MAX_IN:
        raise InputError(f"where: {key}: $in takes at most {MAX_IN} values, not {len(values)}")
    parts: list[str] = []
    params: list[Any] = []
    for value in values:
        sql, args = _equals(key, value)
        parts.append(sql)
        params.extend(args)
    return "(" + " OR ".join(parts) + ")", params


def _compare(key: str, op: str, value: Any) -> tuple[str, list[Any]]:
    _check_scalar(key, value)
    column = _COLUMNS.get(key, "json_extract(d.metadata, ?)")
    params: list[Any] = [] if key in _COLUMNS else [_path(key)]
    return f"{column} {op} ?", [*params, value]


def parse_where(text: str | None, name: str = "where") -> Where | None:
    """A filter given as JSON text (a CLI option, a query parameter); ``name`` is how the
    error messages call it."""
    if not text:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{name}: not valid JSON ({exc.msg} at column {exc.colno})") from exc
    if not isinstance(value, dict):
        raise InputError(f'{name}: expected a JSON object such as {{"series": "Video AI"}}')
    return value
