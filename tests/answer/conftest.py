"""The demo knowledge base, opened read-only, for the answer package's tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import answerdb


@pytest.fixture
def demo(demo_kb: Path) -> Iterator[answerdb.AnswerDB]:
    db = answerdb.open(demo_kb, readonly=True)
    yield db
    db.close()
