"""minilm-static-256: all-MiniLM-L6-v2 distilled to one vector per token (thousands of texts/s).

A text's vector is the L2-normalised sum of its tokens' rows. The table is built from the
pinned ONNX model on first use (under a minute or two) and cached as a .npy file under
``$ANSWERDB_CACHE/models`` (default ``~/.cache/answerdb/models``).
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
from collections.abc import Callable, Sequence
from itertools import chain
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer

from answerdb.embed.base import Progress
from answerdb.embed.distill import Table, distil_table
from answerdb.embed.minilm import MODEL_SHA256, TOKENIZER_PATH
from answerdb.types import Vectors

# Bump when the table's recipe changes: it names the cache file and the recorded revision.
RECIPE = "static-v1"
DIM = 256
# Chosen on ArguAna and SciFact's train queries (not the test sets): see docs/models.md.
SIF = 2e-5
# Distinct words remembered with their token ids (~40 MB at most); the memo restarts when full.
MEMO_WORDS = 200_000
_ASCII_PIECES = re.compile(r"[a-z0-9]+|[^a-z0-9]")
log = logging.getLogger(__name__)


class StaticEmbedder:
    """Weighted bag of MiniLM token vectors, PCA-reduced to 256 dimensions."""

    name = f"minilm-static-{DIM}"
    revision = f"{RECIPE}:{MODEL_SHA256[:12]}"
    dim = DIM
    # Its tokenising is Python: a large ingest embeds in a child process (embed/worker.py).
    holds_gil = True

    def __init__(
        self, threads: int | None = None, cache_dir: Path | None = None, batch_size: int = 256
    ) -> None:
        """``threads`` bounds onnxruntime while the table is built; ``cache_dir`` is where
        the table is kept (default: :func:`cache_folder`). Raises AnswerDBError when the
        table must be built and the ONNX model is missing or altered."""
        self.batch_size = batch_size
        self._tokenizer = load_tokenizer()
        self._wordpiece = self._tokenizer.model
        self._cache_dir = cache_dir or cache_folder()
        path = self._cache_dir / table_file_name()

        def build() -> Table:
            return distil_table(self._tokenizer, DIM, SIF, threads or os.cpu_count() or 1)

        # A plain array over the mapped file: memmap's own indexing is slower per call.
        self._table = np.asarray(load_table(path, (self._tokenizer.get_vocab_size(), DIM), build))
        self._memo: dict[str, tuple[int, ...]] = {}

    def __reduce__(self) -> tuple[type[StaticEmbedder], tuple[None, Path, int]]:
        """Pickled as how to load it again: the table is read back from the cache."""
        return StaticEmbedder, (None, self._cache_dir, self.batch_size)

    def embed(self, texts: Sequence[str], progress: Progress | None = None) -> Vectors:
        """Embed texts in batches of ``batch_size``; ``progress`` gets the count done."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(texts), self.batch_size):
            batch = list(texts[start : start + self.batch_size])
            out[start : start + len(batch)] = self._embed_batch(batch)
            if progress is not None:
                progress(start + len(batch))
        return out

    def embed_query(self, text: str) -> Vectors:
        """Queries and passages are embedded alike."""
        vector: Vectors = self._embed_batch([text])[0]
        return vector

    def _embed_batch(self, texts: list[str]) -> Vectors:
        # Whitespace-split words, each tokenised once and remembered: far faster than the
        # tokenizer on whole texts, and the same ids (it splits punctuation within a word).
        words = [text.lower().split() for text in texts]
        pieces = self._pieces_of(words).__getitem__
        table = self._table
        sums = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text_words in enumerate(words):
            ids = np.fromiter(chain.from_iterable(map(pieces, text_words)), dtype=np.intp)
            if len(ids):
                sums[row] = table[ids].sum(axis=0)
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        normalised: Vectors = sums / np.maximum(norms, 1e-12)  # no known token: zero vector
        return normalised

    def _pieces_of(self, words: list[list[str]]) -> dict[str, tuple[int, ...]]:
        """The word → token ids memo, holding every word of ``words``."""
        memo = self._memo
        if len(memo) > MEMO_WORDS:
            # A new dict, not clear(): a thread still reading the old one keeps its words.
            memo = self._memo = {}
        rest: list[str] = []
        for word in {word for text_words in words for word in text_words} - memo.keys():
            if word.isascii() and word.isprintable():
                # BERT's pre-tokenizer on lower-case ASCII: runs of [a-z0-9], and every other
                # character alone (all are punctuation); 4x faster than the whole pipeline.
                pieces = _ASCII_PIECES.findall(word)
                memo[word] = tuple(t.id for p in pieces for t in self._wordpiece.tokenize(p))
            else:
                rest.append(word)  # accents, CJK, control characters: the full tokenizer
        encodings = self._tokenizer.encode_batch_fast(rest, add_special_tokens=False)
        for word, encoding in zip(rest, encodings, strict=True):
            memo[word] = tuple(encoding.ids)
        return memo


def load_tokenizer() -> Tokenizer:
    """MiniLM's WordPiece tokenizer, whole texts: a bag of tokens needs no length limit."""
    tokenizer = Tokenizer.from_file(str(TOKENIZER_PATH))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


def cache_folder() -> Path:
    """``$ANSWERDB_CACHE/models``, else ``~/.cache/answerdb/models``."""
    root = os.environ.get("ANSWERDB_CACHE")
    return (Path(root) if root else Path.home() / ".cache" / "answerdb") / "models"


def table_file_name() -> str:
    """Keyed by recipe and model file: a new recipe or model never reads an old table."""
    return f"minilm-static-{DIM}-{RECIPE}-{MODEL_SHA256[:16]}.npy"


def load_table(path: Path, shape: tuple[int, int], build: Callable[[], Table]) -> Table:
    """The cached table at ``path`` (memory-mapped), else ``build()`` saved there atomically;
    an unreadable cache is rebuilt, an unwritable one only logged."""
    try:
        cached = np.load(path, mmap_mode="r")
        if cached.shape == shape and cached.dtype == np.float32:
            table: Table = cached
            return table
        log.warning("%s: unexpected shape or type, building the table again", path)
    except FileNotFoundError:
        pass
    except (OSError, ValueError) as exc:
        log.warning("%s: unreadable (%s), building the table again", path, exc)
    log.info("building the static embedding table (once; cached at %s)", path)
    table = build()
    try:
        save_atomic(path, table)
    except OSError as exc:
        log.warning("%s: cannot cache the table (%s); it is rebuilt next time", path, exc)
    return table


def save_atomic(path: Path, table: Table) -> None:
    """Write a temporary file beside ``path`` and rename it: concurrent builders each
    rename a whole file, and a reader never sees half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            np.save(fh, table)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a shared cache should be readable
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
