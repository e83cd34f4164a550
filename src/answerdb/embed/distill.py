"""Distil a static token table from all-MiniLM-L6-v2, the way model2vec's ``distill`` does.

Every vocabulary token goes through the ONNX model on its own (``[CLS] token [SEP]``), the
outputs are reduced by PCA and weighted down by how common the token is (Zipf + SIF). No torch,
nothing downloaded: the model is the pinned ONNX file the default embedder uses.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from tokenizers import Tokenizer

from answerdb.embed.minilm import load_session

Table = npt.NDArray[np.float32]
Floats = npt.NDArray[np.float64]
SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
# Tokens per ONNX call: inputs are three tokens long, so big batches cost little memory.
BATCH_TOKENS = 4096


def distil_table(tokenizer: Tokenizer, dim: int, sif: float, threads: int) -> Table:
    """One ``dim``-wide row per token id; the rows of special tokens are zero.

    ``sif`` is the smoothing coefficient of the frequency weights (smaller weighs common
    tokens down harder); ``threads`` the cores onnxruntime may use. Raises AnswerDBError
    when the ONNX model is missing or does not match its pinned sha256.
    """
    hidden = token_outputs(tokenizer, threads)
    table = pca(hidden, dim) * zipf_weights(len(hidden), sif)[:, None]
    for token in SPECIAL_TOKENS:
        table[tokenizer.token_to_id(token)] = 0.0  # a text's vector holds its words only
    return table.astype(np.float32)


def token_outputs(tokenizer: Tokenizer, threads: int) -> Floats:
    """The model's output at [CLS] for each token alone: shape (vocabulary, 384)."""
    session = load_session(threads)
    cls, sep = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    size = tokenizer.get_vocab_size()
    out = np.zeros((size, 384), dtype=np.float64)
    for start in range(0, size, BATCH_TOKENS):
        ids = np.arange(start, min(size, start + BATCH_TOKENS), dtype=np.int64)
        inputs = np.stack([np.full_like(ids, cls), ids, np.full_like(ids, sep)], axis=1)
        feeds = {
            "input_ids": inputs,
            "attention_mask": np.ones_like(inputs),
            "token_type_ids": np.zeros_like(inputs),
        }
        hidden = session.run(["last_hidden_state"], feeds)[0]
        # [CLS] pooling: it beat model2vec's mean over the three positions on a held-out probe.
        out[start : start + len(ids)] = hidden[:, 0]
    return out


def pca(rows: Floats, dim: int) -> Floats:
    """Rows centred and projected on their ``dim`` principal axes, each axis's sign fixed so
    that its largest loading is positive (the same table on every run)."""
    centred = rows - rows.mean(axis=0)
    _, _, axes = np.linalg.svd(centred, full_matrices=False)
    axes = axes[:dim]
    signs = np.sign(axes[np.arange(len(axes)), np.abs(axes).argmax(axis=1)])
    projected: Floats = centred @ (axes * signs[:, None]).T
    return projected


def zipf_weights(size: int, sif: float) -> Floats:
    """SIF weights ``sif / (sif + p)`` with ``p`` from Zipf's law over the id order, as
    model2vec does: WordPiece vocabularies list common tokens first."""
    inverse_rank = 1.0 / np.arange(2, size + 2, dtype=np.float64)
    probability = inverse_rank / inverse_rank.sum()
    weights: Floats = sif / (sif + probability)
    return weights
