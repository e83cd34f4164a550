"""Ingest: find source files, read them into Documents, split Documents into passages."""

from __future__ import annotations

from .readers import iter_sources, read_path, total_bytes
from .split import split_passages

__all__ = ["iter_sources", "read_path", "split_passages", "total_bytes"]
