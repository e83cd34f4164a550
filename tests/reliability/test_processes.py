"""Many processes: readers see committed states only; a second writer is told it is locked."""

from __future__ import annotations

import multiprocessing as mp
import time
from pathlib import Path

import pytest
from stress import many_processes
from stress.workload import document

from answerdb.errors import LockedError
from answerdb.store.embedded.store import EmbeddedStore

from .helpers import make_kb, open_kb


def test_eight_readers_see_no_errors_while_one_writer_works(tmp_path: Path) -> None:
    result = many_processes.run(tmp_path / "kb", readers=8, seconds=6.0, seed=3)
    assert result["reader_errors"] == 0, result["messages"]
    assert result["searches"] > 100
    assert result["writer"]["adds"] > 10 and result["writer"]["deletes"] > 0


def _hold_lock(path: str, seconds: float, held: mp.synchronize.Event) -> None:
    with EmbeddedStore(Path(path)).writer_lock():
        held.set()
        time.sleep(seconds)


def _holding(path: Path, seconds: float) -> mp.process.BaseProcess:
    ctx = mp.get_context("spawn")
    held = ctx.Event()
    proc = ctx.Process(target=_hold_lock, args=(str(path), seconds, held))
    proc.start()
    assert held.wait(60)
    return proc


def test_second_writer_gets_a_clear_locked_error(tmp_path: Path) -> None:
    path = make_kb(tmp_path / "kb")
    proc = _holding(path, 3.0)
    with (
        open_kb(path, lock_timeout=0.3) as db,
        pytest.raises(LockedError, match="another process is writing"),
    ):
        db.add([document("x1", "This is tokx1 speaking. Words here.")])
    proc.join()
    with open_kb(path, readonly=True) as db:
        assert db.document("x1") is None
        assert len(db.search("alpha", mode="keyword")) == 10


def test_second_writer_waits_for_the_lock_when_given_time(tmp_path: Path) -> None:
    path = make_kb(tmp_path / "kb")
    proc = _holding(path, 1.0)
    with open_kb(path, lock_timeout=30) as db:
        db.add([document("x2", "This is tokx2 speaking. Words here.")])
        assert [h.doc_id for h in db.search("tokx2", mode="keyword")] == ["x2"]
    proc.join()


def test_closing_a_reader_never_waits_for_the_writer(tmp_path: Path) -> None:
    path = make_kb(tmp_path / "kb")
    (path / "index-g0.faiss").unlink()  # so the reader builds a graph it would like to save
    proc = _holding(path, 5.0)
    db = open_kb(path, lock_timeout=10)
    assert db.search("alpha", mode="dense")
    started = time.monotonic()
    db.close()
    assert time.monotonic() - started < 1.0
    proc.join()
