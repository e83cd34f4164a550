"""``where`` filters: a small JSON-style language over document metadata, checked once here.

``{"series": "Video AI"}`` matches a value or a list containing it; an operator object such as
``{"year": {"$gte": 2020}}`` or ``{"tags": {"$in": ["rag", "llm"]}}`` compares. Several keys
must all match. Keys are metadata names, or ``doc_id`` / ``source`` for the document itself.
Each backend translates a checked filter: SQL in the embedded store, an expression on Milvus.

Ordering (``$gt``, ``$gte``, ``$lt``, ``$lte``) compares numbers with numbers and strings with
strings: a key's range takes one kind of value, never a boolean, and ``doc_id`` / ``source``
take strings. A string against a field that holds only numbers (or a number against text)
would match nothing in silence; the embedded store refuses it when a filter matches nothing.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from answerdb.errors import InputError

Where = dict[str, Any]
RANGES = ("$gt", "$gte", "$lt", "$lte")
COMPARISONS = ("$eq", "$ne", *RANGES)
OPERATORS = (*COMPARISONS, "$in")
# Fields of the document itself rather than of its metadata.
COLUMNS = ("doc_id", "source")
Scalar = (str, int, float, bool)
# SQLite limits an expression's depth (1,000) and integers to 64 bits: refuse early and clearly.
MAX_KEYS = 32
MAX_IN = 256
INT64 = 2**63
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$")


def check_where(where: Where | None) -> None:
    """Raise InputError naming what is wrong with a filter; a valid one passes silently."""
    if not where:
        return
    if not isinstance(where, dict):
        raise InputError(f"where: expected an object of key: value, got {type(where).__name__}")
    if len(where) > MAX_KEYS:
        raise InputError(f"where: {len(where)} keys; at most {MAX_KEYS}")
    for key, condition in where.items():
        if not isinstance(key, str) or not _KEY.match(key):
            raise InputError(f"where: {key!r} is not a valid metadata key")
        if isinstance(condition, dict):
            _check_operators(key, condition)
        else:
            check_scalar(key, condition)


def _check_operators(key: str, condition: dict[str, Any]) -> None:
    if not condition:
        raise InputError(f"where: {key}: empty operator object")
    for op, value in condition.items():
        if op not in OPERATORS:
            ops = ", ".join(sorted(OPERATORS))
            raise InputError(f"where: {key}: unknown operator {op!r}; use one of {ops}")
        if op != "$in":
            check_scalar(key, value)
            continue
        if not isinstance(value, list) or not value:
            raise InputError(f"where: {key}: $in takes a non-empty list")
        if len(value) > MAX_IN:
            raise InputError(f"where: {key}: $in takes at most {MAX_IN} values, not {len(value)}")
        for item in value:
            check_scalar(key, item)
    _check_range(key, [value for op, value in condition.items() if op in RANGES])


def _check_range(key: str, values: list[Any]) -> None:
    """One kind of value to order by: numbers or strings (see the module's docstring)."""
    if any(isinstance(value, bool) for value in values):
        raise InputError(f"where: {key}: booleans have no order; compare them with $eq or $ne")
    if len({isinstance(value, str) for value in values}) > 1:
        raise InputError(f"where: {key}: a range compares with numbers or with strings, not both")
    if key in COLUMNS and not all(isinstance(value, str) for value in values):
        raise InputError(f"where: {key} is text; compare it with a string")


def check_scalar(key: str, value: Any) -> None:
    """A value a filter may compare with: a string, a finite number or a boolean."""
    if not isinstance(value, Scalar):
        raise InputError(f"where: {key}: expected a string, number or boolean, got {value!r}")
    if isinstance(value, int) and not -INT64 <= value < INT64:
        raise InputError(f"where: {key}: {value} is beyond 64-bit integers")
    if isinstance(value, float) and not math.isfinite(value):
        raise InputError(f"where: {key}: {value!r} is not a finite number")
    if isinstance(value, str) and not _encodable(value):
        raise InputError(f"where: {key}: {value!r} is not valid Unicode text")


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate, as JSON's "\ud800" decodes to
        return False
    return True


def parse_where(text: str | None, name: str = "where") -> Where | None:
    """A filter given as JSON text (a CLI option, a query parameter), checked; ``name`` is how
    the error messages call it."""
    if not text:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{name}: not valid JSON ({exc.msg} at column {exc.colno})") from exc
    if not isinstance(value, dict):
        raise InputError(f'{name}: expected a JSON object such as {{"series": "Video AI"}}')
    check_where(value)
    return value
