"""Retrieval above the store: fusing dense and keyword results."""
