"""The engines bench/ann.py measures, each behind the same five verbs.

``build`` writes an engine's files into a folder; ``open`` maps or loads them; ``search`` and
``filtered`` answer one query (ids of the base vectors) at one sweep ``knob`` (ef or nprobe);
``disk`` counts the bytes that serve queries. Peers use their own Python APIs as documented.
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

M, EF_CONSTRUCTION = 16, 128
IdList = np.ndarray


def _folder_bytes(folder: Path, skip: str = "") -> int:
    files = [p for p in folder.rglob("*") if p.is_file() and not (skip and skip in p.parts)]
    return sum(p.stat().st_size for p in files)


def _bitmap(buckets: np.ndarray, limit: int) -> np.ndarray:
    return np.packbits(buckets < limit, bitorder="little")


class Engine:
    """One index under test; subclasses fill in the verbs."""

    name = ""
    knobs: tuple[int, ...] = ()
    threads = 2

    def build(self, base: np.ndarray, buckets: np.ndarray, folder: Path) -> dict[str, Any]:
        raise NotImplementedError

    def open(self, folder: Path, dim: int, buckets: np.ndarray) -> None:
        raise NotImplementedError

    def search(self, query: np.ndarray, k: int, knob: int) -> IdList:
        raise NotImplementedError

    def filtered(self, query: np.ndarray, k: int, limit: int, knob: int) -> IdList:
        raise NotImplementedError

    def disk(self, folder: Path) -> int:
        return _folder_bytes(folder)


class AnswerDB(Engine):
    """The real embedded store, filled through `import-vectors` (catalog rows included)."""

    name = "answerdb"
    knobs = (40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 256, 384)  # efSearch; 40 is the floor
    dtype = "int8"

    def build(self, base: np.ndarray, buckets: np.ndarray, folder: Path) -> dict[str, Any]:
        from answerdb.store.embedded.store import EmbeddedStore
        from answerdb.tools.import_vectors import import_vectors
        from answerdb.types import IndexSettings

        staging = folder / "import"
        staging.mkdir(parents=True)
        np.save(staging / "vectors.npy", base)
        with open(staging / "vectors.jsonl", "w", encoding="utf-8") as fh:
            fh.writelines(
                json.dumps({"id": str(i), "metadata": {"bucket": int(b)}}) + "\n"
                for i, b in enumerate(buckets)
            )
        settings = IndexSettings(M, EF_CONSTRUCTION)
        store = EmbeddedStore(folder / "kb", dtype=self.dtype, index=settings)
        report = import_vectors(store, staging / "vectors.npy", model=("bench", "1"))
        store.close()
        return {
            "import_vectors_per_s": round(report.per_second),
            "import_seconds": round(report.seconds, 2),
            "graph_seconds": round(report.index_seconds, 2),
        }

    def open(self, folder: Path, dim: int, buckets: np.ndarray) -> None:
        from answerdb.store.embedded.store import EmbeddedStore

        self.store = EmbeddedStore(folder / "kb", readonly=True)

    def search(self, query: np.ndarray, k: int, knob: int) -> IdList:
        """Ids and scores (`vector_ids`), as the bare indexes answer."""
        self._set(knob)
        return np.array([int(doc_id) for doc_id, _ in self.store.vector_ids(query, k)])

    def search_hits(self, query: np.ndarray, k: int, knob: int) -> IdList:
        """Whole hits (`vector_search`: passage text and metadata fetched), as search returns."""
        self._set(knob)
        return np.array([int(h.doc_id) for h in self.store.vector_search(query, k)])

    def _set(self, knob: int) -> None:
        ann = self.store.ann
        if ann.settings.ef_search != knob:
            ann.settings = replace(ann.settings, ef_search=knob)

    def filtered(self, query: np.ndarray, k: int, limit: int, knob: int) -> IdList:
        found = self.store.vector_ids(query, k, where={"bucket": {"$lt": limit}})
        return np.array([int(doc_id) for doc_id, _ in found])

    def disk(self, folder: Path) -> int:
        kb = folder / "kb"
        return sum(p.stat().st_size for p in kb.glob("vectors-g*")) + sum(
            p.stat().st_size for p in kb.glob("index-g*")
        )


class AnswerDBFloat16(AnswerDB):
    """The same store created with ``dtype="float16"``: finer re-scoring, twice the bytes."""

    name = "answerdb-f16"
    dtype = "float16"


class Hnswlib(Engine):
    """hnswlib's float32 HNSW by inner product."""

    name = "hnswlib"
    knobs = (16, 32, 48, 64, 80, 96, 112, 128, 160, 192, 256, 384)

    def build(self, base: np.ndarray, buckets: np.ndarray, folder: Path) -> dict[str, Any]:
        import hnswlib

        index = hnswlib.Index(space="ip", dim=base.shape[1])
        index.init_index(max_elements=len(base), ef_construction=EF_CONSTRUCTION, M=M)
        index.add_items(base, np.arange(len(base)), num_threads=self.threads)
        folder.mkdir(parents=True, exist_ok=True)
        index.save_index(str(folder / "hnsw.bin"))
        return {}

    def open(self, folder: Path, dim: int, buckets: np.ndarray) -> None:
        import hnswlib

        self.index = hnswlib.Index(space="ip", dim=dim)
        self.index.load_index(str(folder / "hnsw.bin"))
        self.buckets = buckets

    def search(self, query: np.ndarray, k: int, knob: int) -> IdList:
        self.index.set_ef(knob)
        labels, _ = self.index.knn_query(query, k=k, num_threads=1)
        return np.asarray(labels[0])

    def filtered(self, query: np.ndarray, k: int, limit: int, knob: int) -> IdList:
        self.index.set_ef(knob)
        buckets = self.buckets
        try:
            labels, _ = self.index.knn_query(
                query, k=k, num_threads=1, filter=lambda i: bool(buckets[i] < limit)
            )
        except RuntimeError:  # hnswlib raises when the filtered walk finds fewer than k
            return np.zeros(0, dtype=np.int64)
        return np.asarray(labels[0])


class FaissHNSW(Engine):
    """faiss IndexHNSWFlat (float32) by inner product."""

    name = "faiss-hnsw"
    knobs = (16, 32, 48, 64, 80, 96, 112, 128, 160, 192, 256, 384)

    def _new(self, dim: int) -> Any:
        import faiss

        index = faiss.IndexHNSWFlat(dim, M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = EF_CONSTRUCTION
        return index

    def build(self, base: np.ndarray, buckets: np.ndarray, folder: Path) -> dict[str, Any]:
        import faiss

        faiss.omp_set_num_threads(self.threads)
        index = self._new(base.shape[1])
        if not index.is_trained:
            index.train(base[: min(len(base), 100_000)])
        index.add(base)
        folder.mkdir(parents=True, exist_ok=True)
        faiss.write_index(index, str(folder / "index.faiss"))
        return {}

    def open(self, folder: Path, dim: int, buckets: np.ndarray) -> None:
        import faiss

        faiss.omp_set_num_threads(1)
        self.index = faiss.read_index(str(folder / "index.faiss"))
        self.buckets = buckets

    def _params(self, knob: int, selector: Any = None) -> Any:
        import faiss

        params = faiss.SearchParametersHNSW()
        params.efSearch = knob
        if selector is not None:
            params.sel = selector
        return params

    def search(self, query: np.ndarray, k: int, knob: int) -> IdList:
        _, ids = self.index.search(query[None, :], k, params=self._params(knob))
        return np.asarray(ids[0])

    def filtered(self, query: np.ndarray, k: int, limit: int, knob: int) -> IdList:
        import faiss

        bits = _bitmap(self.buckets, limit)
        selector = faiss.IDSelectorBitmap(bits)
        _, ids = self.index.search(query[None, :], k, params=self._params(knob, selector))
        return np.asarray(ids[0])


class FaissIVFPQ(FaissHNSW):
    """faiss IVF with product quantisation (8-bit codes; 8-d sub-vectors where dim allows)."""

    name = "faiss-ivfpq"
    knobs = (1, 2, 4, 8, 16, 32, 64, 128, 256)

    def _new(self, dim: int) -> Any:
        import faiss

        lists = self.lists
        subvectors = next(m for m in (dim // 8, dim // 4, dim // 2, dim) if m and dim % m == 0)
        quantiser = faiss.IndexFlatIP(dim)
        return faiss.IndexIVFPQ(quantiser, dim, lists, subvectors, 8, faiss.METRIC_INNER_PRODUCT)

    def build(self, base: np.ndarray, buckets: np.ndarray, folder: Path) -> dict[str, Any]:
        # About 4·√n lists, but at least 39 training points per list.
        self.lists = max(4, min(int(4 * math.sqrt(len(base))), len(base) // 39))
        return {"lists": self.lists, **super().build(base, buckets, folder)}

    def _params(self, knob: int, selector: Any = None) -> Any:
        import faiss

        params = faiss.SearchParametersIVF()
        params.nprobe = knob
        if selector is not None:
            params.sel = selector
        return params


class Chroma(Engine):
    """Chroma's persistent client (its own HNSW), by inner product."""

    name = "chroma"
    knobs = (16, 32, 64, 128, 256)

    def build(self, base: np.ndarray, buckets: np.ndarray, folder: Path) -> dict[str, Any]:
        import chromadb

        client = chromadb.PersistentClient(path=str(folder))
        hnsw = {"space": "ip", "ef_construction": EF_CONSTRUCTION, "max_neighbors": M}
        collection = client.create_collection("bench", configuration={"hnsw": hnsw})
        step = min(client.get_max_batch_size(), 5000)
        for start in range(0, len(base), step):
            stop = min(start + step, len(base))
            collection.add(
                ids=[str(i) for i in range(start, stop)],
                embeddings=base[start:stop],
                metadatas=[{"bucket": int(b)} for b in buckets[start:stop]],
            )
        return {}

    def open(self, folder: Path, dim: int, buckets: np.ndarray) -> None:
        import chromadb

        self.client = chromadb.PersistentClient(path=str(folder))
        self.collection = self.client.get_collection("bench")
        self.knob = 0

    def _set(self, knob: int) -> None:
        if knob != self.knob:
            self.collection.modify(configuration={"hnsw": {"ef_search": knob}})
            self.knob = knob

    def search(self, query: np.ndarray, k: int, knob: int, where: Any = None) -> IdList:
        self._set(knob)
        found = self.collection.query(
            query_embeddings=[query], n_results=k, where=where, include=[]
        )
        return np.array([int(i) for i in found["ids"][0]])

    def filtered(self, query: np.ndarray, k: int, limit: int, knob: int) -> IdList:
        return self.search(query, k, knob, where={"bucket": {"$lt": limit}})


class LanceDB(Engine):
    """LanceDB (IVF-PQ index, refined against the stored vectors), by dot product."""

    name = "lancedb"
    knobs = (5, 10, 20, 40, 80, 160)  # nprobes, with refine_factor 5

    def build(self, base: np.ndarray, buckets: np.ndarray, folder: Path) -> dict[str, Any]:
        import lancedb
        import pyarrow as pa

        dim = base.shape[1]
        vectors = pa.FixedSizeListArray.from_arrays(pa.array(base.reshape(-1)), dim)
        table = pa.table({"id": np.arange(len(base)), "vector": vectors, "bucket": buckets})
        db = lancedb.connect(str(folder))
        tbl = db.create_table("bench", data=table)
        subvectors = next(m for m in (dim // 8, dim // 4, dim // 2, dim) if dim % m == 0)
        partitions = max(4, int(math.sqrt(len(base))))
        tbl.create_index(
            metric="dot",
            num_partitions=partitions,
            num_sub_vectors=subvectors,
            vector_column_name="vector",
        )
        tbl.create_scalar_index("bucket")
        return {"partitions": partitions}

    def open(self, folder: Path, dim: int, buckets: np.ndarray) -> None:
        import lancedb

        self.table = lancedb.connect(str(folder)).open_table("bench")

    def search(self, query: np.ndarray, k: int, knob: int, where: str = "") -> IdList:
        q = self.table.search(query).metric("dot").nprobes(knob).refine_factor(5).limit(k)
        if where:
            q = q.where(where, prefilter=True)
        return np.asarray(q.select(["id"]).to_arrow()["id"].to_numpy())

    def filtered(self, query: np.ndarray, k: int, limit: int, knob: int) -> IdList:
        return self.search(query, k, knob, where=f"bucket < {limit}")


class MilvusLite(Engine):
    """Milvus Lite (a file), HNSW index by inner product, through pymilvus's MilvusClient."""

    name = "milvus-lite"
    knobs = (16, 32, 64, 128, 256)

    def build(self, base: np.ndarray, buckets: np.ndarray, folder: Path) -> dict[str, Any]:
        from pymilvus import DataType, MilvusClient

        folder.mkdir(parents=True, exist_ok=True)
        client = MilvusClient(str(folder / "bench.db"))
        schema = client.create_schema(auto_id=False)
        schema.add_field("id", DataType.INT64, is_primary=True)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=base.shape[1])
        schema.add_field("bucket", DataType.INT64)
        index = client.prepare_index_params()
        params = {"M": M, "efConstruction": EF_CONSTRUCTION}
        index.add_index(field_name="vector", index_type="HNSW", metric_type="IP", params=params)
        client.create_collection("bench", schema=schema, index_params=index)
        for start in range(0, len(base), 10_000):
            rows = [
                {"id": i, "vector": base[i].tolist(), "bucket": int(buckets[i])}
                for i in range(start, min(start + 10_000, len(base)))
            ]
            client.insert("bench", rows)
        client.flush("bench")
        client.close()
        return {}

    def open(self, folder: Path, dim: int, buckets: np.ndarray) -> None:
        from pymilvus import MilvusClient

        self.client = MilvusClient(str(folder / "bench.db"))
        self.client.load_collection("bench")

    def search(self, query: np.ndarray, k: int, knob: int, where: str = "") -> IdList:
        found = self.client.search(
            "bench",
            data=[query.tolist()],
            limit=k,
            filter=where,
            search_params={"metric_type": "IP", "params": {"ef": max(knob, k)}},
        )
        return np.array([int(hit["id"]) for hit in found[0]])

    def filtered(self, query: np.ndarray, k: int, limit: int, knob: int) -> IdList:
        return self.search(query, k, knob, where=f"bucket < {limit}")


ALL = (AnswerDB, AnswerDBFloat16, Hnswlib, FaissHNSW, FaissIVFPQ, Chroma, LanceDB, MilvusLite)
ENGINES: dict[str, type[Engine]] = {e.name: e for e in ALL}
CORE = ["answerdb", "hnswlib", "faiss-hnsw", "faiss-ivfpq"]
PEERS = ["chroma", "lancedb", "milvus-lite"]
