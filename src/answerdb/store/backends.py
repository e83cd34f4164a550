"""Which backend a store URI names, and the few things done to a store as a whole: open it,
stage a copy beside it, switch the copy into place. The one module that names backends."""

from __future__ import annotations

import shutil
from pathlib import Path

from answerdb.errors import InputError, StoreError
from answerdb.store.base import Store
from answerdb.store.uri import StoreURI, parse_store_uri
from answerdb.types import IndexSettings

STAGING_SUFFIX = "__migrating"


def open_store(
    uri: str | Path | StoreURI,
    dtype: str = "int8",
    readonly: bool = False,
    index: IndexSettings | None = None,
    create: bool = True,
) -> Store:
    """Open the store a URI names, creating it when ``create`` (and not ``readonly``).

    InputError when it is not a knowledge base and may not be created; StoreError when Milvus
    is missing (the ``milvus`` extra) or cannot be reached. ``index`` (HNSW parameters)
    applies to the embedded store, which records it.
    """
    spec = uri if isinstance(uri, StoreURI) else parse_store_uri(uri)
    if spec.backend == "embedded":
        from answerdb.store.embedded.store import EmbeddedStore

        folder = Path(spec.location)
        return EmbeddedStore(folder, dtype=dtype, readonly=readonly, index=index, create=create)
    try:
        from answerdb.store.milvus.store import MilvusStore
    except ImportError as exc:
        raise StoreError(
            f"{spec}: Milvus needs the milvus extra: pip install 'answerdb[milvus]' ({exc})"
        ) from exc
    return MilvusStore(spec, readonly=readonly, create=create)


def staging_of(uri: StoreURI) -> StoreURI:
    """Where a copy for ``uri`` is written before it is switched into place."""
    if uri.backend == "embedded":
        folder = Path(uri.location)
        return StoreURI("embedded", str(folder.with_name(folder.name + ".migrating")))
    return uri.with_collection(uri.collection + STAGING_SUFFIX)


def refuse_occupied(uri: StoreURI) -> None:
    """InputError unless ``uri`` is free for a new store: nothing there, or an empty folder."""
    folder = Path(uri.location)
    if uri.backend == "embedded" and folder.exists() and not folder.is_dir():
        raise InputError(f"{uri}: exists and is not a folder")
    if uri.backend == "embedded" and folder.is_dir() and any(folder.iterdir()):
        try:
            open_store(uri, readonly=True).close()
        except InputError:
            raise InputError(f"{uri}: a folder that is not empty; migrate into a new one") from None
    try:
        existing = open_store(uri, readonly=True)
    except InputError:
        return  # absent: the one case we write to
    try:
        dim = existing.model().get("dim", "?")
        count = existing.stats()["documents"]
    finally:
        existing.close()
    raise InputError(
        f"{uri}: already holds a knowledge base ({count} documents, {dim}-d vectors); "
        "migrate into a new folder or collection"
    )


def promote(staging: StoreURI, dst: StoreURI) -> None:
    """Put a checked copy where ``dst`` names: a folder rename, or Milvus collection renames."""
    if dst.backend == "embedded":
        target = Path(dst.location)
        if target.is_dir() and not any(target.iterdir()):
            target.rmdir()
        shutil.move(staging.location, target)
        return
    from answerdb.store.milvus.store import MilvusStore

    store = MilvusStore(staging)
    try:
        store.rename(dst.collection)
    finally:
        store.close()
