"""Stores: one contract (``Store``, base.py) and the backends behind it, the embedded folder
(embedded/) and Milvus (milvus/). Nothing above this package names a backend."""

from answerdb.store.backends import open_store, promote, refuse_occupied, staging_of
from answerdb.store.base import Store
from answerdb.store.uri import StoreURI, parse_store_uri

__all__ = [
    "Store",
    "StoreURI",
    "open_store",
    "parse_store_uri",
    "promote",
    "refuse_occupied",
    "staging_of",
]
