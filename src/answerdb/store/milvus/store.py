"""The Milvus store: a knowledge base in a Milvus collection (Milvus Lite, standalone, cluster).

Milvus has no transactions, so visibility is decided at read time. A document's head row in
``<name>__docs`` names the content hash of its current version; a passage counts only while its
hash matches its document's head. ``add`` writes passages, then extra text parts, then heads
(the commit point), then removes the previous version's rows. A batch that fails part-way leaves
rows no head points at: invisible, overwritten by the same ids when the batch is written again
(ids derive from document id, hash and ordinal), and removed by ``compact``.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from answerdb.errors import InputError, ModelMismatchError, StoreError
from answerdb.store.base import Store
from answerdb.store.milvus import schema
from answerdb.store.milvus.analyzer import query_terms
from answerdb.store.milvus.client import BATCH_ROWS, Row, connect, count, scan, translated, upsert
from answerdb.store.milvus.rows import doc_rows, document_from, head_key, hit_from
from answerdb.store.milvus.rows import passage_rows as build_passage_rows
from answerdb.store.milvus.where_expr import literal, string_list, where_expression
from answerdb.store.uri import StoreURI
from answerdb.types import Document, Hit, Passage, Vectors
from answerdb.where import Where

# Milvus refuses a search deeper than this.
MAX_TOPK = 16_384
# Crowding changes only as the collection does: kept this long, or until this handle writes.
CROWDING_TTL = 60.0


class MilvusStore(Store):
    """A knowledge base in two Milvus collections; the embedding model is in their properties."""

    def __init__(
        self,
        uri: StoreURI,
        readonly: bool = False,
        index_type: str | None = None,
        create: bool = True,
    ) -> None:
        self.uri = uri
        self.name = uri.collection
        self.docs = schema.docs_name(self.name)
        self.readonly = readonly
        lite = uri.backend == "milvus-lite"
        # Lite searches exactly (as the embedded store does at this size); servers use HNSW.
        self.index_type = index_type or ("FLAT" if lite else "HNSW")
        self.client = connect(uri, readonly)
        self._crowded: dict[tuple[int, int], float] = {}  # (row, k) → crowding
        self._crowded_since = time.monotonic()
        if self._exists():
            self._load()
        elif readonly or not create:
            raise InputError(f"{uri}: not a knowledge base (no collection {self.name!r})")

    # -- set-up ---------------------------------------------------------------------------
    def _exists(self) -> bool:
        return bool(self.client.has_collection(self.name))

    @translated
    def _load(self) -> None:
        if not self.client.has_collection(self.docs):
            schema.create_docs(self.client, self.docs)
        self.client.load_collection(self.docs)
        self.client.load_collection(self.name)

    def _writable(self) -> None:
        if self.readonly:
            raise StoreError(f"{self.uri}: opened read-only")

    @translated
    def model(self) -> dict[str, str]:
        if not self._exists():
            return {}
        props = self.client.describe_collection(self.name).get("properties", {})
        found = {key: props.get(f"answerdb.{key}") for key in schema.MODEL_KEYS}
        return {key: str(value) for key, value in found.items() if value is not None}

    @translated
    def set_model(self, name: str, revision: str, dim: int) -> None:
        self._writable()
        if self._exists():
            held = schema.vector_dim(self.client, self.name)
            if held != dim:
                raise ModelMismatchError(
                    f"{self.uri}: the collection holds {held}-d vectors; the model gives {dim}-d"
                )
        else:
            if self.client.has_collection(self.docs):  # left by an interrupted migrate switch
                self.client.drop_collection(self.docs)
            schema.create_passages(self.client, self.name, dim, self.index_type)
        model = {"model": name, "revision": revision, "dim": str(dim)}
        props = {f"answerdb.{key}": value for key, value in model.items()}
        self.client.alter_collection_properties(self.name, properties=props)
        self._load()

    def _dim(self) -> int:
        return int(self.model().get("dim", "0"))

    # -- writes ---------------------------------------------------------------------------
    @translated
    def add(
        self, docs: list[tuple[Document, str]], passages: list[Passage], vectors: Vectors
    ) -> None:
        self._writable()
        if len(passages) != len(vectors):
            raise InputError(f"{len(passages)} passages but {len(vectors)} vectors")
        if not self._exists():
            raise StoreError(f"{self.uri}: no model recorded yet; nothing can be added")
        if len(vectors) and vectors.shape[1] != self._dim():
            raise InputError(f"{vectors.shape[1]}-d vectors for a {self._dim()}-d store")
        before = self._heads([doc.doc_id for doc, _ in docs])
        heads: list[Row] = []
        parts: list[Row] = []
        for doc, content_hash in docs:
            head, rest = doc_rows(doc, content_hash)
            heads.append(head)
            parts.extend(rest)
        upsert(self.client, self.name, build_passage_rows(docs, passages, vectors))
        upsert(self.client, self.docs, parts)
        upsert(self.client, self.docs, heads)  # the commit point: the new versions become visible
        self._forget_crowding()
        for doc, content_hash in docs:
            if before.get(doc.doc_id, content_hash) != content_hash:
                self._drop_versions(doc.doc_id, keep=content_hash)

    def _drop_versions(self, doc_id: str, keep: str) -> None:
        stale = f"doc_id == {literal(doc_id)} and hash != {literal(keep)}"
        self.client.delete(self.name, filter=stale)
        self.client.delete(self.docs, filter=f"{stale} and part > 0")

    @translated
    def delete(self, doc_ids: list[str]) -> int:
        self._writable()
        present = sorted(self.existing_ids(doc_ids))
        for start in range(0, len(present), BATCH_ROWS):
            chunk = present[start : start + BATCH_ROWS]
            # Heads first: once they are gone the passages are invisible.
            self.client.delete(self.docs, ids=[head_key(d) for d in chunk])
            self.client.delete(self.name, filter=f"doc_id in {string_list(chunk)}")
            self.client.delete(self.docs, filter=f"doc_id in {string_list(chunk)}")
        self._forget_crowding()
        return len(present)

    @translated
    def compact(self) -> dict[str, Any]:
        self._writable()
        heads = {
            row["doc_id"]: row["hash"]
            for row in scan(self.client, self.docs, "part == 0", schema.DOC_FIELDS)
        }
        before = count(self.client, self.name)
        orphans = [
            row["id"]
            for row in scan(self.client, self.name, "", ["id", "doc_id", "hash"])
            if heads.get(row["doc_id"]) != row["hash"]
        ]
        for start in range(0, len(orphans), BATCH_ROWS):
            self.client.delete(self.name, ids=orphans[start : start + BATCH_ROWS])
        self.client.compact(self.name)
        return {"rows_before": before, "rows_after": count(self.client, self.name)}

    @translated
    def reindex(self) -> None:
        self._writable()
        self.client.release_collection(self.name)
        self.client.drop_index(self.name, "vector")
        index = self.client.prepare_index_params()
        index.add_index("vector", index_type=self.index_type, metric_type="IP")
        self.client.create_index(self.name, index)
        self.client.load_collection(self.name)

    # -- reads ----------------------------------------------------------------------------
    @translated
    def vector_search(self, query: Vectors, k: int, where: Where | None = None) -> list[Hit]:
        vector = np.asarray(query, dtype=np.float32).reshape(-1).tolist()
        return self._search(vector, "vector", "IP", k, where)

    @translated
    def keyword_search(self, query: str, k: int, where: Where | None = None) -> list[Hit]:
        terms = query_terms(query)
        return self._search(terms, "sparse", "BM25", k, where) if terms else []

    def _search(self, data: Any, field: str, metric: str, k: int, where: Where | None) -> list[Hit]:
        """The k best visible passages; searches deeper while invisible ones crowd them out."""
        expression = where_expression(where)
        if k <= 0 or not self._exists():
            return []
        limit = min(k, MAX_TOPK)
        while True:
            found = self.client.search(
                self.name,
                data=[data],
                anns_field=field,
                limit=limit,
                filter=expression,
                output_fields=schema.PASSAGE_FIELDS,
                search_params={"metric_type": metric},
            )[0]
            rows = [({**hit["entity"], "id": hit["id"]}, hit["distance"]) for hit in found]
            heads = self._heads(list({row["doc_id"] for row, _ in rows}))
            # Milvus Lite reports BM25 scores negated; the order is right either way.
            hits = [hit_from(r, abs(d)) for r, d in rows if heads.get(r["doc_id"]) == r["hash"]]
            if len(hits) >= k or len(rows) < limit or limit >= MAX_TOPK:
                return hits[:k]
            limit = min(limit * 4, MAX_TOPK)

    @translated
    def crowding(self, rows: list[int], k: int) -> Vectors:
        if time.monotonic() - self._crowded_since > CROWDING_TTL:
            self._forget_crowding()
        known = self._crowded
        wanted = [row for row in dict.fromkeys(rows) if (row, k) not in known]
        wanted = wanted if self._exists() else []
        for start in range(0, len(wanted), BATCH_ROWS):
            found = self._crowding(wanted[start : start + BATCH_ROWS], k)
            known.update({(row, k): mean for row, mean in found.items()})
        return np.array([known.get((row, k), 0.0) for row in rows], dtype=np.float32)

    def _forget_crowding(self) -> None:
        self._crowded.clear()
        self._crowded_since = time.monotonic()

    def _crowding(self, rows: list[int], k: int) -> dict[int, float]:
        """Mean similarity of each row's k nearest other visible passages."""
        points = self.client.get(self.name, ids=rows, output_fields=["vector"])
        if not points:
            return {}
        found = self.client.search(
            self.name,
            data=[np.asarray(p["vector"], dtype=np.float32).tolist() for p in points],
            anns_field="vector",
            limit=2 * k + 1,  # room for the row itself and a few invisible ones
            output_fields=["doc_id", "hash"],
            search_params={"metric_type": "IP"},
        )
        heads = self._heads(list({hit["entity"]["doc_id"] for hits in found for hit in hits}))
        means = {}
        for point, hits in zip(points, found, strict=True):
            sims = [
                hit["distance"]
                for hit in hits
                if hit["id"] != point["id"]
                and heads.get(hit["entity"]["doc_id"]) == hit["entity"]["hash"]
            ][:k]
            means[int(point["id"])] = float(np.mean(sims)) if sims else 0.0
        return means

    def _heads(self, doc_ids: list[str]) -> dict[str, str]:
        """doc_id → content hash of the current version, for those that are stored."""
        found: dict[str, str] = {}
        for start in range(0, len(doc_ids), BATCH_ROWS):
            keys = [head_key(d) for d in doc_ids[start : start + BATCH_ROWS]]
            rows = self.client.get(self.docs, ids=keys, output_fields=["doc_id", "hash"])
            found.update({row["doc_id"]: row["hash"] for row in rows})
        return found

    @translated
    def document(self, doc_id: str) -> Document | None:
        if not self._exists():
            return None
        found = self.client.get(
            self.docs, ids=[head_key(doc_id)], output_fields=[*schema.DOC_FIELDS, "text"]
        )
        if not found:
            return None
        head = found[0]
        text = str(head["text"])
        if int(head["parts"]) > 1:
            expression = (
                f"doc_id == {literal(doc_id)} and hash == {literal(head['hash'])} and part > 0"
            )
            parts = self.client.query(self.docs, filter=expression, output_fields=["part", "text"])
            text += "".join(p["text"] for p in sorted(parts, key=lambda p: int(p["part"])))
        return document_from(head, text)

    @translated
    def documents(self) -> list[Document]:
        if not self._exists():
            return []
        heads = sorted(
            scan(self.client, self.docs, "part == 0", schema.DOC_FIELDS),
            key=lambda row: float(row["added_at"]),
        )
        return [document_from(head) for head in heads]

    @translated
    def neighbours(self, doc_id: str, width: int) -> list[tuple[int, Document]]:
        own = (
            self.client.get(self.docs, ids=[head_key(doc_id)], output_fields=["source", "added_at"])
            if self._exists() and width > 0
            else []
        )
        if not own:
            return []
        mine = f"part == 0 and source == {literal(own[0]['source'])}"
        added = float(own[0]["added_at"])
        return [
            (sign * place, document_from(head))
            for sign in (-1, 1)
            for place, head in enumerate(self._beside(mine, added, sign, width), start=1)
        ]

    def _beside(self, mine: str, added: float, sign: int, width: int) -> list[Row]:
        """Up to ``width`` heads matching ``mine`` added just before (``sign`` -1) or after
        ``added``, nearest first: a window of time that grows until it holds enough."""
        side = f"{mine} and added_at {'<' if sign < 0 else '>'} {added!r}"
        wanted = min(width, count(self.client, self.docs, side))
        span, rows = 0.01, list[Row]()
        while wanted and len(rows) < wanted:
            edge = f"added_at {'>=' if sign < 0 else '<='} {added + sign * span!r}"
            rows = self.client.query(
                self.docs, filter=f"{side} and {edge}", output_fields=schema.DOC_FIELDS
            )
            span *= 4
        rows.sort(key=lambda row: sign * float(row["added_at"]))
        return rows[:width]

    def _passage_rows(self, doc_id: str, fields: list[str]) -> list[Row]:
        current = self._heads([doc_id]) if self._exists() else {}
        if doc_id not in current:
            return []
        expression = f"doc_id == {literal(doc_id)} and hash == {literal(current[doc_id])}"
        rows = self.client.query(self.name, filter=expression, output_fields=["ordinal", *fields])
        return sorted(rows, key=lambda row: int(row["ordinal"]))

    @translated
    def passages(self, doc_id: str) -> list[Passage]:
        rows = self._passage_rows(doc_id, ["id", "text"])
        return [Passage(doc_id, int(r["ordinal"]), str(r["text"]), int(r["id"])) for r in rows]

    @translated
    def passage_vectors(self, doc_id: str) -> Vectors:
        rows = self._passage_rows(doc_id, ["vector"])
        if not rows:
            return np.zeros((0, self._dim()), dtype=np.float32)
        return np.asarray([row["vector"] for row in rows], dtype=np.float32)

    @translated
    def has_hash(self, content_hash: str) -> bool:
        if not self._exists():
            return False
        expression = f"part == 0 and hash == {literal(content_hash)}"
        return bool(self.client.query(self.docs, filter=expression, output_fields=["key"], limit=1))

    @translated
    def existing_ids(self, doc_ids: list[str]) -> set[str]:
        return set(self._heads(doc_ids)) if self._exists() else set()

    @translated
    def stats(self) -> dict[str, Any]:
        exists = self._exists()
        return {
            "documents": count(self.client, self.docs, "part == 0") if exists else 0,
            # Rows of failed batches (no head names them) count until `compact` removes them.
            "passages": count(self.client, self.name) if exists else 0,
            "vector_rows": count(self.client, self.name) if exists else 0,
            "backend": self.uri.backend,
            "uri": str(self.uri),
            "index_type": self.index_type,
            **{f"model_{k}": v for k, v in self.model().items()},
        }

    @translated
    def rename(self, collection: str) -> None:
        """Move this store to another collection name (the last step of a migration)."""
        self._writable()
        target = schema.docs_name(collection)
        if self.client.has_collection(collection):
            raise InputError(f"{self.uri}: cannot rename: collection {collection!r} exists")
        if self.client.has_collection(target):  # left by an interrupted rename: invisible
            self.client.drop_collection(target)
        # The documents first: a store exists once its passage collection does.
        self.client.rename_collection(self.docs, target)
        self.client.rename_collection(self.name, collection)
        self.name, self.docs = collection, target

    def close(self) -> None:
        self.client.close()
