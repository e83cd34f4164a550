"""A folder's creation settings, recorded in its catalog: what a writer gives is kept, and
every later open uses what was recorded."""

from __future__ import annotations

from answerdb.store.embedded.catalog import Catalog
from answerdb.types import IndexSettings


def settle_dtype(catalog: Catalog, dtype: str) -> str:
    """The vector dtype: recorded by the first writer, fixed from then on."""
    stored = catalog.meta("dtype")
    if stored is None and not catalog.readonly:
        with catalog.transaction():
            catalog.set_meta("dtype", dtype)
            catalog.set_meta("int8_codes", "offset")  # see store/vectors.py
        return dtype
    return stored or dtype


def settle_index(catalog: Catalog, given: IndexSettings | None) -> IndexSettings:
    """HNSW settings given are recorded (by a writer); otherwise the recorded ones apply."""
    if given is not None:
        if not catalog.readonly:
            with catalog.transaction():
                for key, value in vars(given).items():
                    catalog.set_meta(f"index_{key}", value)
        return given
    recorded = {
        key: int(value)
        for key in vars(IndexSettings())
        if (value := catalog.meta(f"index_{key}")) is not None
    }
    return IndexSettings(**recorded)
