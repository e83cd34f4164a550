"""A read-only store without its graph file (say, on a read-only mount, where nothing can save
one) builds the graph once per process, not once per handle: a server keeps several."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, closing
from pathlib import Path
from typing import Any

import pytest

from answerdb.store.embedded.hnsw import AnnIndex
from answerdb.store.embedded.store import EmbeddedStore
from tests.store.embedded.test_index_settings import add, new_store, unit

ROWS = 1500


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The rows each in-memory graph build or growth added."""
    added: list[int] = []
    catch_up = AnnIndex.catch_up

    def counted(self: AnnIndex, committed: int, *args: Any, **kwargs: Any) -> None:
        before = self.rows
        catch_up(self, committed, *args, **kwargs)
        if self.rows > before:
            added.append(self.rows - before)

    monkeypatch.setattr(AnnIndex, "catch_up", counted)
    return added


@pytest.fixture
def graphless(tmp_path: Path) -> Path:
    path = tmp_path / "kb"
    store = new_store(path)
    add(store, 0, unit(ROWS, 1))
    store.close()
    (path / "index-g0.faiss").unlink()
    return path


@pytest.fixture
def readers(graphless: Path) -> Iterator[list[EmbeddedStore]]:
    with ExitStack() as stack:
        yield [
            stack.enter_context(closing(EmbeddedStore(graphless, readonly=True, exact_limit=0)))
            for _ in range(3)
        ]


def test_read_only_handles_build_a_missing_graph_once_per_process(
    readers: list[EmbeddedStore], builds: list[int]
) -> None:
    query = unit(1, 9)[0]
    answers = [reader.vector_ids(query, 5) for reader in readers]
    assert builds == [ROWS]
    assert answers[0] == answers[1] == answers[2]


def test_a_shared_graph_is_copied_not_grown_under_the_handles_sharing_it(
    graphless: Path, readers: list[EmbeddedStore], builds: list[int]
) -> None:
    first, second, _ = readers
    first.vector_ids(unit(1, 9)[0], 5)
    second.vector_ids(unit(1, 9)[0], 5)
    shared = first.ann
    assert builds == [ROWS] and second.ann is shared
    writer = new_store(graphless)
    extra = unit(50, 2)
    add(writer, ROWS, extra)
    writer.close()
    (graphless / "index-g0.faiss").unlink()  # the writer's save is gone too
    builds.clear()
    assert second.vector_ids(extra[7], 1)[0][0] == f"d{ROWS + 7}"
    assert shared.rows == ROWS and second.ann is not shared  # the first's graph untouched
    assert first.vector_ids(extra[9], 1)[0][0] == f"d{ROWS + 9}"
    assert first.ann is second.ann
    assert builds == [50]  # the second grew its copy; the first took it
