"""Store URIs: which backend holds a knowledge base, and where.

- ``kb/`` or ``file:kb/``: the embedded store in folder ``kb/``;
- ``milvus-lite:kb.db`` or ``milvus-lite:kb.db#name``: Milvus Lite in file ``kb.db``,
  collection ``name``;
- ``milvus://host:19530/name``: a Milvus server or cluster (``milvus+https://`` for TLS,
  ``user:password@host`` to log in).

The collection name defaults to ``answerdb``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from answerdb.errors import InputError

DEFAULT_COLLECTION = "answerdb"
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,200}$")
_SCHEMES = {"milvus": "http", "milvus+http": "http", "milvus+https": "https"}


@dataclass(frozen=True)
class StoreURI:
    """A parsed store URI: ``backend`` is embedded, milvus-lite or milvus."""

    backend: str
    # A folder (embedded), a .db file (milvus-lite) or an http(s) address (milvus).
    location: str
    collection: str = ""
    token: str = ""

    def __str__(self) -> str:
        if self.backend == "embedded":
            return self.location
        if self.backend == "milvus-lite":
            return f"milvus-lite:{self.location}#{self.collection}"
        return f"{self.location}/{self.collection}"

    def with_collection(self, collection: str) -> StoreURI:
        """The same place, another collection (or, embedded, a sibling folder)."""
        if self.backend == "embedded":
            return StoreURI("embedded", str(Path(self.location).with_name(collection)))
        return StoreURI(self.backend, self.location, _checked_name(collection), self.token)


def parse_store_uri(text: str | Path) -> StoreURI:
    """Parse a folder path or a store URI; InputError names what is malformed."""
    value = str(text)
    if not value.strip():
        raise InputError("store URI is empty")
    if value.startswith("milvus-lite:"):
        return _lite(value)
    if value.startswith("milvus"):
        return _server(value)
    if value.startswith("file:"):
        value = value.removeprefix("file:")
    return StoreURI("embedded", value)


def _lite(value: str) -> StoreURI:
    path, _, name = value.removeprefix("milvus-lite:").partition("#")
    if not path:
        raise InputError(f"{value}: expected milvus-lite:FILE.db[#COLLECTION]")
    if not path.endswith(".db"):
        raise InputError(f"{value}: a Milvus Lite file name must end in .db")
    return StoreURI("milvus-lite", path, _checked_name(name or DEFAULT_COLLECTION))


def _server(value: str) -> StoreURI:
    parts = urlsplit(value)
    if parts.scheme not in _SCHEMES:
        raise InputError(f"{value}: unknown scheme; use milvus://HOST:PORT/COLLECTION")
    try:
        port = parts.port or 19530
    except ValueError as exc:
        raise InputError(f"{value}: the port is not a number") from exc
    if not parts.hostname:
        raise InputError(f"{value}: no host; use milvus://HOST:PORT/COLLECTION")
    name = parts.path.strip("/") or DEFAULT_COLLECTION
    token = ""
    if parts.username:
        token = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
    address = f"{_SCHEMES[parts.scheme]}://{parts.hostname}:{port}"
    return StoreURI("milvus", address, _checked_name(name), token)


def _checked_name(name: str) -> str:
    if not _NAME.match(name):
        raise InputError(
            f"{name!r} is not a valid collection name (letters, digits and _, not first a digit)"
        )
    return name
