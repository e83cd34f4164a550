"""A write that cannot happen is refused at open, in one line that names the path (exit 2):
before a model is loaded or a passage embedded, never as a traceback."""

from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from answerdb.cli.main import main
from tests.reliability.helpers import make_kb


@pytest.fixture
def no_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loading a model fails the test: the refusal must come before any embedding."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a model was loaded before the write was refused")

    monkeypatch.setattr("answerdb.db.load_embedder", refuse)


@pytest.fixture
def note(tmp_path: Path) -> Path:
    path = tmp_path / "note.md"
    path.write_text("# A note\n\nSome words to embed.\n", encoding="utf-8")
    return path


def refused(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """Run a command that must be refused; its one error line."""
    assert main(list(argv)) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("answerdb: error: "), err
    return err


@pytest.mark.usefixtures("no_model")
def test_a_kb_path_that_is_a_file_is_refused(
    tmp_path: Path, note: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kb = tmp_path / "kb"
    kb.write_text("not a folder", encoding="utf-8")
    err = refused(capsys, "ingest", str(kb), str(note))
    assert str(kb) in err and "not a folder" in err
    assert kb.read_text(encoding="utf-8") == "not a folder"


@pytest.mark.usefixtures("no_model")
@pytest.mark.parametrize("kb", ["/dev/null/kb", "/proc/answerdb-kb"])
def test_a_kb_path_where_no_folder_can_be_made_is_refused(
    kb: str, note: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    err = refused(capsys, "ingest", kb, str(note))
    assert kb in err


def _failing_open(fail: Callable[[str], bool], code: int) -> Callable[..., int]:
    real = os.open

    def fake(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if fail(os.fspath(path)):
            raise OSError(code, os.strerror(code), os.fspath(path))
        return real(path, flags, *args, **kwargs)

    return fake


# The tests run as root, which neither chmod nor permissions stop, and a read-only mount needs
# root too: these make os.open raise, for the lock file alone, what the kernel raises there.
@pytest.mark.usefixtures("no_model")
@pytest.mark.parametrize(
    ("code", "says"), [(errno.EROFS, "Read-only file system"), (errno.EACCES, "Permission denied")]
)
def test_a_lock_file_that_cannot_be_written_refuses_ingest_early(
    tmp_path: Path,
    note: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    code: int,
    says: str,
) -> None:
    kb = make_kb(tmp_path / "kb")
    monkeypatch.setattr(os, "open", _failing_open(lambda p: p.endswith("writer.lock"), code))
    for argv in (["ingest", str(kb), str(note)], ["delete", str(kb), "d1"], ["compact", str(kb)]):
        err = refused(capsys, *argv)
        assert str(kb) in err and says in err and "read-only" in err


@pytest.mark.usefixtures("no_model")
def test_a_folder_that_cannot_be_created_refuses_ingest_early(
    tmp_path: Path, note: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def mkdir(self: Path, *args: Any, **kwargs: Any) -> None:  # as a parent without write access
        raise PermissionError(errno.EACCES, "Permission denied", str(self))

    monkeypatch.setattr(Path, "mkdir", mkdir)
    kb = tmp_path / "new" / "kb"
    err = refused(capsys, "ingest", str(kb), str(note))
    assert str(kb) in err and "Permission denied" in err


@pytest.fixture
def readonly_kb(tmp_path: Path) -> Iterator[Path]:
    """A store seen through a read-only bind mount (a real one: needs root, else skipped)."""
    source = make_kb(tmp_path / "kb")
    view = tmp_path / "view"
    view.mkdir()
    mounted = subprocess.run(["mount", "--bind", str(source), str(view)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount here ({mounted.stderr.decode().strip() or 'not permitted'})")
    remount = subprocess.run(["mount", "-o", "remount,ro,bind", str(view)], capture_output=True)
    if remount.returncode != 0:
        subprocess.run(["umount", str(view)], check=False)
        pytest.skip("cannot remount read-only here")
    yield view
    subprocess.run(["umount", "-l", str(view)], check=False)


@pytest.mark.usefixtures("no_model")
def test_writes_on_a_read_only_mount_are_refused_at_open(
    readonly_kb: Path, note: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for argv in (
        ["ingest", str(readonly_kb), str(note)],
        ["delete", str(readonly_kb), "d1"],
        ["compact", str(readonly_kb)],
        ["reindex", str(readonly_kb)],
        ["repair", str(readonly_kb)],
    ):
        err = refused(capsys, *argv)
        assert str(readonly_kb) in err and "Read-only file system" in err


def test_a_read_only_handle_refuses_an_ingest_before_embedding(tmp_path: Path) -> None:
    from stress.workload import document

    from answerdb.errors import StoreError
    from tests.reliability.helpers import open_kb

    kb = make_kb(tmp_path / "kb")
    with open_kb(kb, readonly=True) as db:
        embedded: list[int] = []
        embed = db.embedder.embed

        def counted(texts: Any, progress: Any = None) -> Any:
            embedded.append(len(texts))
            return embed(texts)

        db.embedder.embed = counted  # type: ignore[method-assign]
        with pytest.raises(StoreError, match="read-only"):
            db.add([document("new", "This is toknew speaking.")])
        assert embedded == []
