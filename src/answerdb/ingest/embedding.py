"""How an ingest embeds: on a worker thread in this process, or, for a model that holds the GIL
and much text, in a child process beside it (embed/worker.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from answerdb.embed import Embedder
from answerdb.embed.worker import ProcessEmbedder

from .pipeline import Embedding

BATCH_PASSAGES = 256
# From this much text a model that holds the GIL embeds in a child process (its ~0.3 s start
# pays back) while this one splits and writes.
PROCESS_CHARS = 2_000_000
# Such a model is fast (a batch this size takes it ~0.25 s): larger batches mean fewer commits,
# each of which flushes the keyword index (~40% less commit time than at 256)...
PROCESS_BATCH_PASSAGES = 1024
# ...and a large ingest takes larger ones still, so long as it stays some BATCHES_AHEAD
# batches long (the model and the writer overlap batch by batch): at 106,782 passages 4,096
# a batch spent ~9% less CPU than 1,024 (docs/scaling.md, Text ingest).
LARGEST_BATCH = 4096
BATCHES_AHEAD = 24
# What a passage takes of the files read, about (SciFact, ArguAna: 1,300 bytes).
CHARS_PER_PASSAGE = 1300


@contextmanager
def embedding_for(
    model: Callable[[], Embedder], holds_gil: bool, size: int
) -> Iterator[Callable[[], Embedding]]:
    """How to embed ``size`` characters (or bytes of files): yields a call that gives the
    Embedding, so that a model running here is loaded (and checked) only once it is needed,
    while a child process starts loading at once, before the reading."""
    if not (holds_gil and size >= PROCESS_CHARS):
        yield lambda: Embedding(model().embed, BATCH_PASSAGES)
        return
    child = ProcessEmbedder(model())
    batch = process_batch(size)
    try:
        yield lambda: Embedding(child.embed, batch, child.embed_here)
    finally:
        child.close()


def process_batch(size: int) -> int:
    """Passages a batch for ``size`` characters embedded in a child process."""
    passages = size // CHARS_PER_PASSAGE
    return max(PROCESS_BATCH_PASSAGES, min(LARGEST_BATCH, passages // BATCHES_AHEAD))
