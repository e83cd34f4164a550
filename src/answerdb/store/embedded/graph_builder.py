"""Growing the graph during a bulk load, on a thread of its own at the lowest CPU priority.

A large ingest keeps both cores busy (the model on one, the writer on the other) but not all
the time: each waits for the other now and then. The graph takes those gaps instead of running
after the last batch: the scheduler gives a nice-19 thread a core only when nothing else wants
it, so the model and the writer go on at their own pace. It grows a copy of the graph that no
search walks (its arrays move as it grows), from rows already committed, so it needs neither
the catalog nor the writer; the store takes the copy when the bulk load ends
(docs/scaling.md, "Text ingest").
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading

from answerdb.store.embedded.hnsw import AnnIndex

# Rows per step: a stop waits for at most one (~0.1 s).
STEP_ROWS = 8192
# The lowest priority Linux gives a thread (others: the thread runs at the process's).
NICEST = 19
log = logging.getLogger(__name__)


class GraphBuilder:
    """Grows ``ann`` (a graph no search walks) to the rows ``offer`` names once they reach
    ``start``, on its own thread; ``finish`` stops it and hands the graph back."""

    def __init__(self, ann: AnnIndex, start: int = 0) -> None:
        self.ann = ann
        self._start = start
        self._wanted = ann.rows
        self._stopping = False
        self._failed = False
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="answerdb-graph", daemon=True)
        self._thread.start()

    def offer(self, rows: int) -> None:
        """The graph should hold the first ``rows`` stored rows (committed, never rewritten)."""
        with self._changed:
            if rows >= self._start and rows > self._wanted:
                self._wanted = rows
                self._changed.notify()

    def finish(self) -> AnnIndex | None:
        """Stop after the current step; the graph grown so far, or None when growing failed
        (the store then builds it the usual way)."""
        with self._changed:
            self._stopping = True
            self._changed.notify()
        self._thread.join()
        return None if self._failed else self.ann

    def _run(self) -> None:
        _yield_cores()
        try:
            while (wanted := self._next()) is not None:
                self.ann.catch_up(min(wanted, self.ann.rows + STEP_ROWS), one_thread=True)
        except Exception as exc:  # derived data: the bulk load's end builds what is missing
            log.warning("growing the graph beside the ingest stopped: %s", exc)
            self._failed = True

    def _next(self) -> int | None:
        """The rows to grow to; None once stopped."""
        with self._changed:
            while not self._stopping and self.ann.rows >= self._wanted:
                self._changed.wait()
            return None if self._stopping else self._wanted


def _yield_cores() -> None:
    """Give this thread the lowest priority (Linux sets it per thread, by thread id)."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), NICEST)
