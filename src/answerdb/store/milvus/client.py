"""Talking to Milvus: connecting, turning its refusals into StoreError, reading in bulk."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol, TypeVar

from pymilvus import MilvusClient, MilvusException

from answerdb.errors import InputError, StoreError
from answerdb.store.uri import StoreURI

Row = dict[str, Any]
# Rows per read or write, and ids per `in [...]` list: well under Milvus's limits.
BATCH_ROWS = 500
# Our StoreError carries the message; pymilvus would also log a traceback for every refusal.
logging.getLogger("pymilvus").setLevel(logging.CRITICAL)

T = TypeVar("T")


class HasURI(Protocol):
    uri: StoreURI


def translated(method: Callable[..., T]) -> Callable[..., T]:
    """Turn a Milvus refusal inside a store method into a StoreError that names the store."""

    @functools.wraps(method)
    def wrapper(self: HasURI, *args: Any, **kwargs: Any) -> T:
        try:
            return method(self, *args, **kwargs)
        except MilvusException as exc:
            raise StoreError(f"{self.uri}: {exc.message}") from exc

    return wrapper


def connect(uri: StoreURI, readonly: bool) -> MilvusClient:
    """A client for Milvus Lite (file) or a server; StoreError when it cannot be reached."""
    if uri.backend == "milvus-lite":
        path = Path(uri.location)
        if readonly and not path.exists():
            raise InputError(f"{uri}: not a knowledge base (no file {path})")
        path.parent.mkdir(parents=True, exist_ok=True)
        address = str(path)
    else:
        address = uri.location
    try:
        return MilvusClient(uri=address, token=uri.token, timeout=10)
    except MilvusException as exc:
        raise StoreError(f"cannot reach Milvus at {address}: {exc.message}") from exc


def scan(
    client: MilvusClient, collection: str, expression: str, fields: list[str]
) -> Iterator[Row]:
    """Every row matching ``expression``, read in batches."""
    it = client.query_iterator(collection, BATCH_ROWS, filter=expression, output_fields=fields)
    try:
        while batch := it.next():
            yield from batch
    finally:
        it.close()


def count(client: MilvusClient, collection: str, expression: str = "") -> int:
    """How many rows match ``expression``."""
    rows = client.query(collection, filter=expression, output_fields=["count(*)"])
    return int(rows[0]["count(*)"])


def upsert(client: MilvusClient, collection: str, rows: list[Row]) -> None:
    """Write rows in batches (an upsert: the same ids twice leave one copy)."""
    for start in range(0, len(rows), BATCH_ROWS):
        client.upsert(collection, rows[start : start + BATCH_ROWS])
