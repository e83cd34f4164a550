"""The two Milvus collections of a knowledge base, and how they are created.

``<name>`` holds one row per passage: its vector, its keyword terms (a BM25 function fills the
sparse field), the document's metadata for filters, and the content hash of the document
version it belongs to. ``<name>__docs`` holds one head row per document (key ``d:<doc_id>``,
the commit marker) and further rows for text longer than one VARCHAR (key ``p:<hash>:<n>``).
The embedding model is recorded in the passage collection's properties.
"""

from __future__ import annotations

from typing import Any

from pymilvus import DataType, Function, FunctionType, MilvusClient

# The most a Milvus VARCHAR holds, in bytes.
VARCHAR_BYTES = 65_535
# Document text is cut into parts of this many characters (4 bytes each at most).
PART_CHARS = 16_000
DOCS_SUFFIX = "__docs"
MODEL_KEYS = ("model", "revision", "dim")
PASSAGE_FIELDS = ["id", "doc_id", "hash", "ordinal", "heading", "text", "meta"]
DOC_FIELDS = ["doc_id", "hash", "parts", "source", "title", "question", "meta", "added_at"]


def docs_name(collection: str) -> str:
    """The name of the documents collection that goes with a passage collection."""
    return collection + DOCS_SUFFIX


def create_passages(client: MilvusClient, name: str, dim: int, index_type: str) -> None:
    """The passage collection with its dense and BM25 indexes, loaded for search."""
    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    for text_field in ("doc_id", "hash", "source", "heading", "text"):
        schema.add_field(text_field, DataType.VARCHAR, max_length=VARCHAR_BYTES)
    schema.add_field("ordinal", DataType.INT64)
    schema.add_field(
        "terms",
        DataType.VARCHAR,
        max_length=VARCHAR_BYTES,
        enable_analyzer=True,
        analyzer_params={"tokenizer": "standard"},
    )
    schema.add_field("meta", DataType.JSON)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
    schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    schema.add_function(
        Function(
            name="terms_bm25",
            function_type=FunctionType.BM25,
            input_field_names=["terms"],
            output_field_names=["sparse"],
        )
    )
    index = client.prepare_index_params()
    index.add_index("vector", index_type=index_type, metric_type="IP", **_index_params(index_type))
    index.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
    # Reading one document's passages must not scan the collection.
    index.add_index("doc_id", index_type="INVERTED")
    client.create_collection(name, schema=schema, index_params=index, consistency_level="Strong")


def create_docs(client: MilvusClient, name: str) -> None:
    """The documents collection (a 2-d dummy vector: Milvus wants one in every collection)."""
    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("key", DataType.VARCHAR, is_primary=True, max_length=VARCHAR_BYTES)
    for text_field in ("doc_id", "hash", "source", "title", "question", "text"):
        schema.add_field(text_field, DataType.VARCHAR, max_length=VARCHAR_BYTES)
    schema.add_field("part", DataType.INT64)
    schema.add_field("parts", DataType.INT64)
    schema.add_field("meta", DataType.JSON)
    schema.add_field("added_at", DataType.DOUBLE)
    schema.add_field("dummy", DataType.FLOAT_VECTOR, dim=2)
    index = client.prepare_index_params()
    index.add_index("dummy", index_type="FLAT", metric_type="L2")
    for scalar in ("doc_id", "hash"):
        index.add_index(scalar, index_type="INVERTED")
    client.create_collection(name, schema=schema, index_params=index, consistency_level="Strong")


def vector_dim(client: MilvusClient, name: str) -> int:
    """The dimension of an existing passage collection's vector field (0 if it has none)."""
    fields: list[dict[str, Any]] = client.describe_collection(name)["fields"]
    for field in fields:
        if field["name"] == "vector":
            return int(field["params"]["dim"])
    return 0


def _index_params(index_type: str) -> dict[str, Any]:
    if index_type == "HNSW":
        return {"params": {"M": 16, "efConstruction": 200}}
    return {}
