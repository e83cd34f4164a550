"""``where`` filters as Milvus boolean expressions, with the semantics of ``filters.py``.

Document metadata lives in the JSON field ``meta`` of every passage row; ``doc_id`` and
``source`` are plain fields. Milvus Lite takes no ``filter_params`` templates, so values are
written as escaped literals; filters are checked by ``check_where`` first.
"""

from __future__ import annotations

import json
import math
from typing import Any

from answerdb.errors import InputError
from answerdb.where import Where, check_where

_COMPARE = {"$eq": "==", "$ne": "!=", "$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}
_COLUMNS = ("doc_id", "source")


def where_expression(where: Where | None) -> str:
    """A Milvus filter expression; ``""`` matches everything. InputError as ``check_where``."""
    if not where:
        return ""
    check_where(where)  # the same validation and the same messages as the embedded store
    return " and ".join(_clause(key, condition) for key, condition in where.items())


def literal(value: Any) -> str:
    """A string, number or boolean as a Milvus literal."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InputError(f"where: {value!r} is not a finite number")
        return repr(value)
    # JSON string escaping (quotes, backslashes, control characters) is what Milvus reads.
    return json.dumps(str(value), ensure_ascii=False)


def string_list(values: list[str]) -> str:
    """A list of strings as a Milvus array literal, for ``field in [...]``."""
    return "[" + ", ".join(literal(v) for v in values) + "]"


def _field(key: str) -> str:
    return key if key in _COLUMNS else f"meta[{literal(key)}]"


def _clause(key: str, condition: Any) -> str:
    if not isinstance(condition, dict):
        return _equals(key, condition)
    parts = []
    for op, value in condition.items():
        if op == "$in":
            parts.append("(" + " or ".join(_equals(key, v) for v in value) + ")")
        else:
            parts.append(f"{_field(key)} {_COMPARE[op]} {literal(value)}")
    return "(" + " and ".join(parts) + ")"


def _equals(key: str, value: Any) -> str:
    field = _field(key)
    if key in _COLUMNS:
        return f"{field} == {literal(value)}"
    # A scalar equal to the value, or a list (tags) holding it.
    return f"({field} == {literal(value)} or json_contains({field}, {literal(value)}))"
