"""Where MiniLM runs: the CPU unless a GPU is asked for or found, saying so when it falls back."""

from __future__ import annotations

import logging

import numpy as np
import onnxruntime as ort
import pytest

from answerdb.embed import Embedder
from answerdb.embed.minilm import DEVICE_VARIABLE, MiniLMEmbedder
from answerdb.errors import AnswerDBError

TEXTS = ["How do I reverse a list in Python?", "Tomatoes need full sun."]
HAS_CUDA = "CUDAExecutionProvider" in ort.get_available_providers()


def test_cpu_when_asked(monkeypatch: pytest.MonkeyPatch, minilm: Embedder) -> None:
    monkeypatch.setenv(DEVICE_VARIABLE, "cpu")
    model = MiniLMEmbedder(threads=1)
    assert model.device == "cpu" and model.batch_size == 32
    assert np.allclose(model.embed(TEXTS), minilm.embed(TEXTS), atol=1e-5)


@pytest.mark.skipif(HAS_CUDA, reason="this onnxruntime has CUDA: no fallback to see")
def test_cuda_asked_without_it_falls_back_with_one_line(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, minilm: Embedder
) -> None:
    monkeypatch.setenv(DEVICE_VARIABLE, "cuda")
    with caplog.at_level(logging.WARNING, logger="answerdb.embed.minilm"):
        model = MiniLMEmbedder(threads=1)
    lines = [r.getMessage() for r in caplog.records if r.name == "answerdb.embed.minilm"]
    assert len(lines) == 1 and "embedding on the CPU" in lines[0] and "answerdb[gpu]" in lines[0]
    assert model.device == "cpu"
    assert np.allclose(model.embed(TEXTS), minilm.embed(TEXTS), atol=1e-5)


def test_auto_without_a_gpu_build_is_silent(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv(DEVICE_VARIABLE, raising=False)
    with caplog.at_level(logging.WARNING, logger="answerdb.embed.minilm"):
        model = MiniLMEmbedder(threads=1)
    if not HAS_CUDA:
        assert model.device == "cpu" and not caplog.records


def test_unknown_device_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DEVICE_VARIABLE, "tpu")
    with pytest.raises(AnswerDBError, match="ANSWERDB_DEVICE='tpu'"):
        MiniLMEmbedder(threads=1)
