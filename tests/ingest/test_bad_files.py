"""Hostile and damaged files: each is read or refused with a one-line reason naming it, and
none hangs ingest or exhausts memory (docs/reliability.md, "Failure modes found and fixed")."""

from __future__ import annotations

import csv
import errno
import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import answerdb
from answerdb.errors import InputError
from answerdb.ingest import iter_sources, read_path

from .test_readers import make_pdf

# What a child process may take before a file that would hang or fill memory fails its test.
CHILD_SECONDS = 20
CHILD_MEMORY = 2 << 30
# The child caps its own memory: a preexec_fn would run Python between fork and exec, which
# a parent holding gRPC threads (the Milvus tests') does not survive.
INGEST = f"""
import json, resource, sys
resource.setrlimit(resource.RLIMIT_AS, ({CHILD_MEMORY}, {CHILD_MEMORY}))
import answerdb
kb, *paths = sys.argv[1:]
with answerdb.open(kb) as db:
    report = db.ingest(paths)
print(json.dumps([report.added, [[s.source, s.reason] for s in report.skipped]]))
"""


def write(folder: Path, name: str, content: str | bytes) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def ingest_in_child(kb: Path, *paths: Path) -> tuple[list[str], list[tuple[str, str]]]:
    """The ids ``db.ingest(paths)`` added and the ``(source, reason)`` pairs it skipped, run in
    a child process capped in time and memory: a file that would hang ingest or exhaust
    memory fails the test instead of stopping the test run."""
    done = run_ingest_child(kb, *paths)
    assert done.returncode == 0, done.stderr[-2000:]
    added, skipped = json.loads(done.stdout)
    return added, [(source, reason) for source, reason in skipped]


def run_ingest_child(kb: Path, *paths: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", INGEST, str(kb), *map(str, paths)]
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=CHILD_SECONDS)
    except subprocess.TimeoutExpired:
        pytest.fail(f"ingest of {[p.name for p in paths]} did not end in {CHILD_SECONDS} s")


# -- Markdown front matter ----------------------------------------------------------------
def alias_bomb(levels: int) -> str:
    """Front matter whose last list holds 9 ** levels strings through nested aliases."""
    lines = ["l0: &l0 [lol,lol,lol,lol,lol,lol,lol,lol,lol]"]
    lines += [f"l{i}: &l{i} [" + ",".join([f"*l{i - 1}"] * 9) + "]" for i in range(1, levels)]
    return "---\n" + "\n".join(lines) + "\n---\nBody.\n"


def test_markdown_front_matter_alias_bomb_is_refused(tmp_path: Path) -> None:
    bomb = write(tmp_path, "kb/bomb.md", alias_bomb(9))
    write(tmp_path, "kb/good.md", "# Good\n\nA good page.\n")
    assert len(bomb.read_bytes()) < 430
    added, skipped = ingest_in_child(tmp_path / "db", tmp_path / "kb")
    assert added == ["good"]
    assert skipped == [
        (str(bomb), f"{bomb}: bad YAML front matter: aliases (*name) are not allowed (line 3)")
    ]


def test_markdown_front_matter_with_any_alias_is_refused(tmp_path: Path) -> None:
    # Two levels expand to 81 values only: without a rule against aliases they are read.
    with pytest.raises(InputError, match=r"small\.md: .*aliases \(\*name\) are not allowed"):
        read_path(write(tmp_path, "small.md", alias_bomb(2)))


def test_markdown_front_matter_has_a_size_cap(tmp_path: Path) -> None:
    path = write(tmp_path, "long.md", f"---\nnote: {'x' * 100_000}\n---\nBody.\n")
    with pytest.raises(InputError, match=r"long\.md: bad YAML front matter: longer than [\d,]+ "):
        read_path(path)
    (doc,) = read_path(write(tmp_path, "ok.md", "---\nnote: &n anchors alone are fine\n---\nB.\n"))
    assert doc.metadata["note"] == "anchors alone are fine"


def test_markdown_nested_too_deeply_is_refused_by_name(tmp_path: Path) -> None:
    path = write(tmp_path, "deep.md", "*" * 5000 + "x" + "*" * 5000 + "\n")
    with pytest.raises(InputError, match=r"deep\.md: Markdown nested too deeply"):
        read_path(path)


# -- encodings ----------------------------------------------------------------------------
@pytest.mark.parametrize("codec", ["utf-16", "utf-16-be", "utf-32", "utf-32-be"])
def test_text_with_a_utf16_or_utf32_byte_order_mark_is_decoded(tmp_path: Path, codec: str) -> None:
    # Python's "utf-16" and "utf-32" write a little-endian mark; the "-be" ones write none.
    data = "Hello wide world.\r\nSecond line é.".encode(codec)
    if codec.endswith("-be"):
        data = "\ufeff".encode(codec) + data
    (doc,) = read_path(write(tmp_path, "wide.txt", data))
    assert doc.text == "Hello wide world.\nSecond line é."


def test_utf16_with_a_broken_tail_names_the_byte(tmp_path: Path) -> None:
    data = "Hello.".encode("utf-16") + b"\x00"
    with pytest.raises(InputError, match=r"odd\.md: invalid UTF-16 at byte 14$"):
        read_path(write(tmp_path, "odd.md", data))


def test_utf16_with_nul_characters_is_binary(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"nul\.txt: binary file, not text$"):
        read_path(write(tmp_path, "nul.txt", "text\x00\x01".encode("utf-16")))


# -- special files and size -----------------------------------------------------------------
def test_fifo_in_a_folder_or_given_directly_is_skipped(tmp_path: Path) -> None:
    write(tmp_path, "kb/good.md", "# Good\n\nA good page.\n")
    pipe = tmp_path / "kb/pipe.md"
    os.mkfifo(pipe)
    added, skipped = ingest_in_child(tmp_path / "db", tmp_path / "kb", pipe)
    reason = f"{pipe}: cannot read: a FIFO, not a regular file"
    assert added == ["good"]
    assert skipped == [(str(pipe), reason), (str(pipe), reason)]


def test_symlink_to_dev_zero_is_skipped(tmp_path: Path) -> None:
    write(tmp_path, "kb/good.txt", "A good note.\n")
    zero = tmp_path / "kb/zero.txt"
    zero.symlink_to("/dev/zero")
    added, skipped = ingest_in_child(tmp_path / "db", tmp_path / "kb")
    assert added == ["good"]
    assert skipped == [(str(zero), f"{zero}: cannot read: a character device, not a regular file")]


def test_socket_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.md"
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(str(path))
        with pytest.raises(InputError, match=r"s\.md: cannot read: a socket, not a regular file$"):
            read_path(path)


def test_file_over_the_size_limit_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANSWERDB_MAX_FILE_BYTES", "100")
    (doc,) = read_path(write(tmp_path, "fits.txt", "x" * 99 + "\n"))
    assert doc.text == "x" * 99
    with pytest.raises(InputError, match=r"big\.txt: larger than 100 bytes, .*ANSWERDB_MAX_FILE"):
        read_path(write(tmp_path, "big.txt", "x" * 101))


def test_size_limit_must_be_a_number(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANSWERDB_MAX_FILE_BYTES", "1e6")
    with pytest.raises(InputError, match=r"ANSWERDB_MAX_FILE_BYTES='1e6': give a whole number"):
        read_path(write(tmp_path, "a.txt", "A note."))


# -- symlinks -----------------------------------------------------------------------------
def test_symlink_loop_given_directly_is_called_a_loop(tmp_path: Path) -> None:
    loop = tmp_path / "loop.md"
    loop.symlink_to(tmp_path / "other.md")
    (tmp_path / "other.md").symlink_to(loop)
    assert list(iter_sources([loop])) == [(loop, tmp_path)]
    with pytest.raises(InputError, match=r"loop\.md: cannot read: symlink loop$"):
        read_path(loop)


def test_broken_symlink_names_its_target(tmp_path: Path) -> None:
    link = tmp_path / "link.md"
    link.symlink_to(tmp_path / "gone.md")
    assert list(iter_sources([link])) == [(link, tmp_path)]
    with pytest.raises(InputError, match=r"link\.md: cannot read: broken symlink to .*gone\.md$"):
        read_path(link)


# -- folders that cannot be listed --------------------------------------------------------
def lock_folder(monkeypatch: pytest.MonkeyPatch, locked: Path) -> None:
    """Make ``locked`` unlistable as chmod 000 makes it for any user but root (tests run as
    root): os.scandir raises what the kernel then raises, for that folder only."""
    scandir = os.scandir

    def denying(path: Any = ".") -> Any:
        if Path(path) == locked:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
        return scandir(path)

    monkeypatch.setattr(os, "scandir", denying)


def folder_with_a_locked_subfolder(tmp_path: Path) -> tuple[Path, Path]:
    write(tmp_path, "kb/a.md", "# A\n\nFirst page.\n")
    write(tmp_path, "kb/locked/hidden.md", "# Hidden\n\nNever read.\n")
    write(tmp_path, "kb/z.md", "# Z\n\nLast page.\n")
    return tmp_path / "kb", tmp_path / "kb/locked"


def test_unlistable_subfolder_is_reported_as_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kb, locked = folder_with_a_locked_subfolder(tmp_path)
    lock_folder(monkeypatch, locked)
    assert [file for file, _ in iter_sources([kb])] == [kb / "a.md", kb / "z.md", locked]
    with answerdb.open(tmp_path / "db") as db:
        report = db.ingest([kb])
    assert sorted(report.added) == ["a", "z"]
    assert [(s.source, s.reason) for s in report.skipped] == [
        (str(locked), f"{locked}: cannot read folder: Permission denied")
    ]


def test_unlistable_folder_raises_under_raise(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kb, locked = folder_with_a_locked_subfolder(tmp_path)
    lock_folder(monkeypatch, locked)
    with answerdb.open(tmp_path / "db") as db:
        with pytest.raises(InputError, match=r"locked: cannot read folder: Permission denied$"):
            db.ingest([kb], on_error="raise")
        assert db.stats()["documents"] == 0
    lock_folder(monkeypatch, kb)
    with pytest.raises(InputError, match=r"kb: cannot read folder: Permission denied$"):
        [read_path(file, base) for file, base in iter_sources([kb])]


@pytest.mark.skipif(os.geteuid() == 0, reason="chmod 000 does not stop root from reading")
def test_chmod_000_subfolder_is_reported_as_skipped(tmp_path: Path) -> None:
    kb, locked = folder_with_a_locked_subfolder(tmp_path)
    locked.chmod(0)
    try:
        with answerdb.open(tmp_path / "db") as db:
            report = db.ingest([kb])
    finally:
        locked.chmod(0o755)
    assert [(s.source, s.reason) for s in report.skipped] == [
        (str(locked), f"{locked}: cannot read folder: Permission denied")
    ]


# -- CSV ----------------------------------------------------------------------------------
@pytest.fixture
def default_csv_field_limit() -> Iterator[None]:
    """csv's field limit as a fresh process has it (the limit is process-wide)."""
    before = csv.field_size_limit(131_072)
    yield
    csv.field_size_limit(before)


def test_csv_quote_never_closed_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "open.csv", 'id,text\n1,"hello\n2,world\n3,again\n')
    with pytest.raises(InputError) as err:
        read_path(path)
    problem = "line 2: not valid CSV: a quote opened in this row is never closed"
    assert str(err.value) == f"{path}: {problem}"


def test_csv_quote_closed_lines_later_is_refused(tmp_path: Path) -> None:
    # The open quote swallows lines 2 and 3 until the next quote, then text follows it.
    path = write(tmp_path, "late.csv", 'id,text\n1,"hello\n2,world\n3,"again"\n')
    with pytest.raises(InputError, match=r"late\.csv: line 4: not valid CSV: .*line 2\)$"):
        read_path(path)


def test_csv_quoted_field_over_many_lines_still_reads(tmp_path: Path) -> None:
    docs = read_path(write(tmp_path, "multi.csv", 'id,text\n1,"two\nlines"\n2,"one ""quoted"""'))
    assert [(d.doc_id, d.text) for d in docs] == [("1", "two\nlines"), ("2", 'one "quoted"')]


@pytest.mark.usefixtures("default_csv_field_limit")
def test_csv_field_over_csvs_default_limit_is_read(tmp_path: Path) -> None:
    long_text = "word " * 40_000
    docs = read_path(write(tmp_path, "long.csv", f'id,text\n1,"{long_text}"\n2,short\n'))
    assert [len(d.text) for d in docs] == [len(long_text.strip()), 5]


# -- PDF ----------------------------------------------------------------------------------
def test_pypdf_warnings_stay_off_stderr(tmp_path: Path) -> None:
    # Cut short, the file has no "%%EOF": pypdf warns "EOF marker not found", then fails.
    broken = write(tmp_path, "kb/cut.pdf", make_pdf(["Some text."])[:300])
    write(tmp_path, "kb/good.txt", "A good note.\n")
    done = run_ingest_child(tmp_path / "db", tmp_path / "kb")
    assert done.returncode == 0 and done.stderr == ""
    added, skipped = json.loads(done.stdout)
    reason = "damaged or unreadable PDF: PdfStreamError: Stream has ended unexpectedly"
    assert added == ["good"] and skipped == [[str(broken), f"{broken}: {reason}"]]


def test_damaged_pdf_is_not_called_a_scan(tmp_path: Path) -> None:
    # The page's content stream is an object the file does not have: pypdf reads no text.
    data = make_pdf(["Text that is lost."]).replace(b"/Contents 4 0 R", b"/Contents 9 0 R")
    problem = r"damaged or unreadable PDF: Object 9 0 not defined\.$"
    with pytest.raises(InputError, match=rf"lost\.pdf: {problem}"):
        read_path(write(tmp_path, "lost.pdf", data))
