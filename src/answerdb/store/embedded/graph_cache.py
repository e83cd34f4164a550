"""Graphs that read-only handles built in memory, shared by every read-only handle of this
process on the same vector file: a store without its graph file (on a read-only mount, where
no handle can save one) then builds its graph once per process, not once per handle.

A shared graph never grows: a handle that needs more rows grows a copy of it (and shares that).
A graph lives as long as a handle uses it.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Hashable

from answerdb.store.embedded.hnsw import AnnIndex

_BUILT: weakref.WeakValueDictionary[Hashable, AnnIndex] = weakref.WeakValueDictionary()
# The graphs in _BUILT, by identity: what must be copied before it grows.
_SHARED: weakref.WeakSet[AnnIndex] = weakref.WeakSet()
# Handles on several threads (a server's readers) may build at once: one builds, the rest wait.
_LOCK = threading.Lock()


def caught_up(ann: AnnIndex, wanted: int, share: bool) -> AnnIndex:
    """``ann``, or a graph in its place, holding ``wanted`` rows. With ``share`` (a read-only
    handle) one built by another handle is taken, and one built here is offered."""
    if ann.rows >= wanted:
        return ann
    if not share:
        ann.catch_up(wanted)
        return ann
    with _LOCK:
        key = _key(ann, wanted)
        found = _BUILT.get(key) if key else None
        if found is not None:
            return found
        grown = ann.copy() if ann in _SHARED else ann
        grown.catch_up(wanted)
        if key:
            _BUILT[key] = grown
            _SHARED.add(grown)
        return grown


def _key(ann: AnnIndex, rows: int) -> Hashable | None:
    """What makes two graphs the same: the same file (rows are only appended to it), codes,
    settings and rows. None when the file cannot be read (the build will say why)."""
    vectors = ann.vectors
    try:
        info = vectors.path.stat()
    except OSError:
        return None
    return (
        info.st_dev,
        info.st_ino,
        vectors.dtype,
        vectors.offset,
        vectors.scale,
        ann.settings,
        rows,
    )
