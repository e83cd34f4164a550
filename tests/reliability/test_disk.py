"""A full disk fails a write clearly and leaves the store usable; a read-only store searches.

Both build their own small filesystem (tmpfs with a size limit, a read-only bind mount),
which needs root; elsewhere they are skipped with the reason.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from stress.workload import document

from answerdb.cli.main import main
from answerdb.errors import StoreError
from answerdb.store.embedded.store import EmbeddedStore
from answerdb.types import Document

from .helpers import make_kb, open_kb


def _mount(args: list[str], where: Path) -> None:
    run = subprocess.run(["mount", *args, str(where)], capture_output=True, text=True)
    if run.returncode != 0:
        pytest.skip(f"cannot mount here ({run.stderr.strip() or 'not permitted'})")


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB tmpfs, unmounted afterwards."""
    where = tmp_path / "disk"
    where.mkdir()
    _mount(["-t", "tmpfs", "-o", "size=2m", "tmpfs"], where)
    yield where
    subprocess.run(["umount", "-l", str(where)], check=False)


def _fill(disk: Path, leave: int) -> Path:
    """Take all the free space but ``leave`` bytes; returns the filler to remove later."""
    filler = disk / "filler"
    free = os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize
    with open(filler, "wb") as fh:
        fh.write(b"\0" * max(0, free - leave))
    return filler


def _big_batch(prefix: str, docs: int = 40) -> list[Document]:
    words = " ".join(f"word{i}" for i in range(120))
    return [document(f"{prefix}{i}", f"This is tok{prefix}{i}. {words}.") for i in range(docs)]


def test_full_disk_fails_clearly_and_the_store_stays_usable(tiny_disk: Path) -> None:
    path = make_kb(tiny_disk / "kb")
    with open_kb(path) as db:
        db.search("alpha", mode="dense")  # the disk fills while the store is open
        filler = _fill(tiny_disk, leave=16 * 1024)
        with pytest.raises(StoreError, match="cannot"):
            for n in range(20):  # until a write no longer fits
                db.add(_big_batch(f"b{n}x"))
        assert len(db.search("alpha", k=20, mode="keyword")) == 12
        assert db.search("topic3 alpha", mode="dense")
        filler.unlink()
        db.add([document("after", "This is tokafter speaking. The disk has room again.")])
        assert [h.doc_id for h in db.search("tokafter", mode="keyword")] == ["after"]
    with open_kb(path) as db:
        report = db.check()
        assert report.ok, report.findings
        assert db.document("after") is not None


def _read_only_view(source: Path, view: Path) -> Path:
    """``source`` seen through a read-only bind mount at ``view`` (the caller unmounts it)."""
    view.mkdir()
    _mount(["--bind", str(source)], view)
    remount = subprocess.run(["mount", "-o", "remount,ro,bind", str(view)], capture_output=True)
    if remount.returncode != 0:
        subprocess.run(["umount", str(view)], check=False)
        pytest.skip("cannot remount read-only here")
    return view


@pytest.fixture
def readonly_copy(tmp_path: Path) -> Iterator[Path]:
    """A closed store seen through a read-only bind mount."""
    view = _read_only_view(make_kb(tmp_path / "kb"), tmp_path / "view")
    yield view
    subprocess.run(["umount", "-l", str(view)], check=False)


def test_read_only_store_opens_for_search(readonly_copy: Path) -> None:
    assert not (readonly_copy / "catalog.sqlite-wal").exists()
    with open_kb(readonly_copy, readonly=True) as db:
        assert len(db.search("alpha", k=20, mode="keyword")) == 12
        assert db.search("topic3", mode="dense")[0].doc_id == "d3"
        assert db.check().ok
        with pytest.raises(StoreError, match="read-only"):
            db.add([document("nope", "This is toknope speaking.")])


def test_read_only_store_left_by_a_crash_opens_with_its_wal(tmp_path: Path) -> None:
    source = make_kb(tmp_path / "kb")
    # A writer that died keeps its WAL: copy the store while a connection holds it open.
    holder = open_kb(source)
    holder.add([document("late", "This is toklate speaking. Committed in the WAL.")])
    crashed = tmp_path / "crashed"
    shutil.copytree(source, crashed)
    holder.close()
    view = tmp_path / "view"
    view.mkdir()
    _mount(["--bind", str(crashed)], view)
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", str(view)], check=True)
        with open_kb(view, readonly=True) as db:
            assert [h.doc_id for h in db.search("toklate", mode="keyword")] == ["late"]
    finally:
        subprocess.run(["umount", "-l", str(view)], check=False)


def test_check_on_a_read_only_mount_finds_no_damage_that_is_not_there(
    readonly_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for extra in ([], ["--read-only"]):
        assert main(["check", str(readonly_copy), *extra]) == 0
        out = capsys.readouterr().out
        assert "check: ok" in out and "keyword index" in out and "error" not in out


def test_check_on_a_read_only_mount_still_finds_a_damaged_keyword_index(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = make_kb(tmp_path / "kb")
    store = EmbeddedStore(source)
    with closing(store), store.catalog.transaction() as sql:
        sql.execute("DELETE FROM passages_fts_data WHERE id > 10")
    view = _read_only_view(source, tmp_path / "view")
    try:
        assert main(["check", str(view)]) == 1
        assert "keyword index" in capsys.readouterr().out
    finally:
        subprocess.run(["umount", "-l", str(view)], check=False)
