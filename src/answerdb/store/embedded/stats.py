"""`answerdb stats` for a folder store: what its catalog counts and its files weigh."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from answerdb.store.embedded.store import EmbeddedStore


def store_stats(store: EmbeddedStore) -> dict[str, Any]:
    """Counts, sizes, settings and the recorded model, as committed now."""
    counts, rows = store.catalog.counts(), store.catalog.committed_rows()
    index_file = store.index_path
    waiting = store.graph_rows(rows) - store.ann.rows if store.catalog.graph_waits() else 0
    return {
        **counts,
        "backend": "embedded",
        "path": str(store.path),
        "vector_dtype": store.vectors.dtype,
        "vector_rows": rows,
        "deleted_rows": rows - counts["passages"],
        "vector_bytes": store.vectors.path.stat().st_size if store.vectors.path.exists() else 0,
        "index_bytes": index_file.stat().st_size if index_file.exists() else 0,
        "index_rows": store.ann.rows,
        "index_waiting_rows": max(waiting, 0),  # searched exactly until `reindex`
        "catalog_bytes": store.catalog.path.stat().st_size,
        **{f"index_{k}": v for k, v in vars(store.index_settings).items()},
        **{f"model_{k}": v for k, v in store.model().items()},
    }
