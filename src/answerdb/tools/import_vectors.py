"""`answerdb import-vectors`: embeddings made elsewhere, checked whole, then stored in batches.

Two layouts (docs/scaling.md, "Importing precomputed vectors"):

- ``vectors.npy`` — an (n, dim) float array — with a sidecar ``vectors.jsonl``: line i is
  ``{"id": "...", "text": "...", "metadata": {...}}`` for row i (``text``, ``metadata``
  optional);
- ``vectors.parquet`` with columns ``id``, ``vector`` (a list of floats) and optionally
  ``text`` and ``metadata`` (an object or a JSON string).

Each record becomes one document with one passage. The whole file is checked before anything is
written (invariant 8): a bad file is refused with one line naming the problem.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from answerdb.errors import InputError
from answerdb.store import Store
from answerdb.types import Document, Passage, Vectors

BATCH = 50_000


@dataclass
class Batch:
    """Records ``first`` .. ``first + len(ids)`` of a file."""

    first: int
    ids: list[str]
    texts: list[str]
    metadata: list[dict[str, Any]]
    vectors: Vectors


@dataclass
class ImportReport:
    """What ``import_vectors`` stored; seconds to check and store, then to build the graph."""

    file: str
    vectors: int
    dim: int
    seconds: float
    check_seconds: float
    index_seconds: float

    @property
    def per_second(self) -> float:
        return self.vectors / self.seconds if self.seconds else 0.0


def import_vectors(
    store: Store,
    file: Path,
    sidecar: Path | None = None,
    model: tuple[str, str] | None = None,
    batch: int = BATCH,
) -> ImportReport:
    """Check ``file`` whole, then add its records in batches of ``batch``.

    ``model`` is (name, revision) of the model that made the vectors, recorded when the
    knowledge base is new and compared when it is not. Raises InputError naming the file and
    the problem: wrong dimension, a missing or repeated id, NaN or infinite values, an all-zero
    vector, or a sidecar whose length differs from the vectors'.
    """
    source = open_source(file, sidecar, batch)
    started = time.perf_counter()
    dim = check_source(source)
    _settle_model(store, file, dim, model)
    checked = time.perf_counter()
    count = 0
    with store.bulk():  # a store that can builds its index once, at the end
        for part in source.batches():
            store.add(*_records(part, file.name))
            count += len(part.ids)
        stored = time.perf_counter()
    done = time.perf_counter()
    return ImportReport(str(file), count, dim, stored - started, checked - started, done - stored)


def _records(part: Batch, source: str) -> tuple[list[tuple[Document, str]], list[Passage], Vectors]:
    rows = zip(part.ids, part.texts, part.metadata, strict=True)
    docs = [
        (
            Document(doc_id=doc_id, text=text, source=source, metadata=meta),
            hashlib.sha256(f"{doc_id}\0{text}".encode()).hexdigest(),
        )
        for doc_id, text, meta in rows
    ]
    passages = [Passage(doc_id, 0, text) for doc_id, text in zip(part.ids, part.texts, strict=True)]
    norms = np.sqrt(np.einsum("ij,ij->i", part.vectors, part.vectors))[:, None]
    # The store ranks by cosine: unit length makes inner product and L2 agree with it.
    return docs, passages, np.divide(part.vectors, norms, dtype=np.float32)


def _settle_model(store: Store, file: Path, dim: int, model: tuple[str, str] | None) -> None:
    recorded = store.model()
    if not recorded:
        name, revision = model or _default_model()
        if model is None and dim != _DEFAULT_DIM:
            raise InputError(
                f"{file}: {dim}-d vectors, but {name} makes {_DEFAULT_DIM}-d ones;"
                " name the model that made them with --model"
            )
        store.set_model(name, revision, dim)
        return
    if int(recorded.get("dim", "0")) != dim:
        raise InputError(
            f"{file}: {dim}-d vectors, but the knowledge base's model"
            f" ({recorded.get('model')}) is {recorded.get('dim')}-d"
        )
    if model is not None and model[0] != recorded.get("model"):
        raise InputError(
            f"{file}: made with {model[0]}, but the knowledge base records {recorded.get('model')}"
        )


_DEFAULT_DIM = 384


def _default_model() -> tuple[str, str]:
    # Vectors made elsewhere by the default model: recorded as its pinned float graph's.
    from answerdb.embed.minilm import SOURCE_REVISION, MiniLMEmbedder

    return MiniLMEmbedder.name, SOURCE_REVISION


# -- checking ------------------------------------------------------------------------------
def check_source(source: Source) -> int:
    """Read every record once; returns the dimension or raises InputError on the first fault."""
    seen: dict[str, int] = {}
    dim = source.dim
    for part in source.batches():
        _check_vectors(source.name, part, dim)
        for offset, doc_id in enumerate(part.ids):
            where = part.first + offset
            if doc_id in seen:
                raise InputError(
                    f"{source.name}: id {doc_id!r} appears twice (records {seen[doc_id]}"
                    f" and {where})"
                )
            seen[doc_id] = where
    if not seen:
        raise InputError(f"{source.name}: no vectors")
    return dim


def _check_vectors(name: str, part: Batch, dim: int) -> None:
    bad = ~np.isfinite(part.vectors).all(axis=1)
    if bad.any():
        at = int(np.argmax(bad))
        raise InputError(
            f"{name}: vector {part.first + at} (id {part.ids[at]!r}) holds NaN or infinite values"
        )
    zero = ~part.vectors.any(axis=1)
    if zero.any():
        at = int(np.argmax(zero))
        raise InputError(f"{name}: vector {part.first + at} (id {part.ids[at]!r}) is all zeros")


def _doc_id(value: Any, name: str, where: int) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise InputError(f"{name}: record {where} has no id")
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise InputError(f"{name}: record {where}: id must be a string or an integer")
    return str(value)


def _metadata(value: Any, name: str, where: int) -> dict[str, Any]:
    if value is None:
        return {}
    if isinstance(value, str):
        try:
            value = orjson.loads(value)
        except orjson.JSONDecodeError:
            raise InputError(f"{name}: record {where}: metadata is not valid JSON") from None
    if not isinstance(value, dict):
        raise InputError(f"{name}: record {where}: metadata must be an object")
    return value


# -- reading -------------------------------------------------------------------------------
class Source:
    """Records of one file, read in batches (twice: once to check, once to store)."""

    name: str
    dim: int

    def batches(self) -> Iterator[Batch]:
        raise NotImplementedError


def open_source(file: Path, sidecar: Path | None, batch: int) -> Source:
    """The reader for ``file`` by its suffix; InputError for a missing or unknown file."""
    if not file.is_file():
        raise InputError(f"{file}: no such file")
    if file.suffix == ".npy":
        return NpySource(file, sidecar or file.with_suffix(".jsonl"), batch)
    if file.suffix == ".parquet":
        return ParquetSource(file, batch)
    raise InputError(f"{file}: expected a .npy file (with a .jsonl sidecar) or a .parquet file")


class NpySource(Source):
    """An (n, dim) float array, mapped, beside a JSON Lines sidecar of ids, text and metadata."""

    def __init__(self, file: Path, sidecar: Path, batch: int) -> None:
        self.name = str(file)
        self.sidecar = sidecar
        self.batch = batch
        try:
            self.array = np.load(file, mmap_mode="r", allow_pickle=False)
        except (ValueError, OSError) as exc:
            raise InputError(f"{file}: not a readable .npy array ({exc})") from None
        if self.array.ndim != 2 or self.array.dtype.kind != "f":
            raise InputError(
                f"{file}: expected a 2-D float array, got {self.array.dtype} {self.array.shape}"
            )
        if not sidecar.is_file():
            raise InputError(f"{file}: no sidecar {sidecar} with the ids (one JSON line a vector)")
        self.dim = int(self.array.shape[1])

    def batches(self) -> Iterator[Batch]:
        rows = len(self.array)
        with open(self.sidecar, encoding="utf-8") as lines:
            first = 0
            while True:
                records = [
                    _json_line(self.sidecar, line, first + i)
                    for i, line in zip(range(self.batch), lines, strict=False)
                ]
                if not records:
                    break
                if first + len(records) > rows:
                    raise InputError(
                        f"{self.name}: {rows} vectors, but {self.sidecar} has more lines"
                    )
                yield self._batch(first, records)
                first += len(records)
        if first != rows:
            raise InputError(f"{self.name}: {rows} vectors, but {self.sidecar} has {first} lines")

    def _batch(self, first: int, records: list[dict[str, Any]]) -> Batch:
        name = str(self.sidecar)
        ids = [_doc_id(r.get("id"), name, first + i) for i, r in enumerate(records)]
        texts = [str(r.get("text") or "") for r in records]
        metas = [_metadata(r.get("metadata"), name, first + i) for i, r in enumerate(records)]
        vectors = np.asarray(self.array[first : first + len(records)], dtype=np.float32)
        return Batch(first, ids, texts, metas, vectors)


def _json_line(path: Path, line: str, where: int) -> dict[str, Any]:
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError:
        raise InputError(f"{path}: line {where + 1} is not valid JSON") from None
    if not isinstance(value, dict):
        raise InputError(f"{path}: line {where + 1} is not a JSON object")
    return value


class ParquetSource(Source):
    """A Parquet file with columns id, vector and optionally text and metadata."""

    def __init__(self, file: Path, batch: int) -> None:
        try:
            import pyarrow.parquet as pq
        except ImportError:
            raise InputError(
                f"{file}: reading Parquet needs pyarrow (pip install pyarrow)"
            ) from None
        self.name = str(file)
        self.batch = batch
        try:
            self.parquet = pq.ParquetFile(file)
        except Exception as exc:  # pyarrow raises its own error types for damaged files
            raise InputError(f"{file}: not a readable Parquet file ({exc})") from None
        columns = set(self.parquet.schema_arrow.names)
        for needed in ("id", "vector"):
            if needed not in columns:
                raise InputError(f"{file}: no {needed!r} column (has {sorted(columns)})")
        self.columns = [c for c in ("id", "text", "vector", "metadata") if c in columns]
        self.dim = self._first_dim()

    def _first_dim(self) -> int:
        for part in self.parquet.iter_batches(batch_size=1, columns=["vector"]):
            first = part.column(0)[0].as_py()
            return len(first) if first is not None else 0
        raise InputError(f"{self.name}: no vectors")

    def batches(self) -> Iterator[Batch]:
        first = 0
        for part in self.parquet.iter_batches(batch_size=self.batch, columns=self.columns):
            count = part.num_rows
            table = part.select([c for c in self.columns if c != "vector"]).to_pydict()
            ids = [_doc_id(v, self.name, first + i) for i, v in enumerate(table["id"])]
            texts = [str(t or "") for t in table.get("text", [""] * count)]
            metas = [
                _metadata(m, self.name, first + i)
                for i, m in enumerate(table.get("metadata", [None] * count))
            ]
            vectors = self._vectors(part.column("vector"), first)
            yield Batch(first, ids, texts, metas, vectors)
            first += count

    def _vectors(self, column: Any, first: int) -> Vectors:
        import pyarrow.compute as pc

        # Arrow's flat buffer avoids one Python list per vector.
        lengths = pc.fill_null(pc.list_value_length(column), 0).to_numpy(zero_copy_only=False)
        wrong = np.nonzero(lengths != self.dim)[0]
        if len(wrong):
            at = int(wrong[0])
            raise InputError(
                f"{self.name}: record {first + at}: vector of {int(lengths[at])} values,"
                f" expected {self.dim}"
            )
        flat = pc.list_flatten(column).to_numpy(zero_copy_only=False)
        return np.asarray(flat, dtype=np.float32).reshape(len(column), self.dim)
