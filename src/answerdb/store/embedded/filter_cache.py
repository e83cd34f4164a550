"""Sets of vector rows: the bitmaps the graph search takes, and rows of recent filters."""

from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from answerdb.where import Where

Rows = npt.NDArray[np.int64]
Bitmap = npt.NDArray[np.uint8]
# A filter's rows, with their bitmap when the graph search will need one.
Matching = tuple[Rows, Bitmap | None]


def bitmap(rows: Rows, count: int) -> Bitmap:
    """A little-endian bitmap of ``count`` bits with ``rows`` set (faiss's IDSelectorBitmap)."""
    mask = np.zeros(count, dtype=bool)
    mask[rows] = True
    return np.packbits(mask, bitorder="little")


class FilterCache:
    """Rows matching the last few ``where`` filters, until the next commit clears them
    (a filter is usually reused: a page of results, a series)."""

    def __init__(self, size: int = 8) -> None:
        self.size = size
        self._found: dict[str, Matching] = {}

    def clear(self) -> None:
        self._found = {}

    def get(self, where: Where, compute: Callable[[], Matching]) -> Matching:
        key = json.dumps(where, sort_keys=True, default=str)
        found = self._found.get(key)
        if found is None:
            if len(self._found) >= self.size:
                self._found.pop(next(iter(self._found)))
            found = self._found[key] = compute()
        return found
