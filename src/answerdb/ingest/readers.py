"""Find source files and read each into Documents, choosing the reader by file suffix.

Every problem with a file's content is an :class:`~answerdb.errors.InputError` whose message
starts with the file's path, so that ingest can report it by name and go on (invariant 8).
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import suppress
from pathlib import Path
from typing import BinaryIO

from answerdb.errors import InputError
from answerdb.types import Document

from .common import Source, base_doc_id
from .markdown import read_markdown
from .pdf import read_pdf
from .plaintext import read_text
from .records import read_csv, read_jsonl
from .webpage import read_html

Reader = Callable[[Source], list[Document]]

READERS: dict[str, Reader] = {
    ".md": read_markdown,
    ".markdown": read_markdown,
    ".html": read_html,
    ".htm": read_html,
    ".txt": read_text,
    ".text": read_text,
    ".pdf": read_pdf,
    ".jsonl": read_jsonl,
    ".csv": read_csv,
}
SUPPORTED = tuple(READERS)
# A file is read whole into memory: larger ones are refused unless this is raised, by the
# environment variable of the same name (docs/reliability.md).
MAX_FILE_BYTES = 1 << 30
_SIZE_VARIABLE = "ANSWERDB_MAX_FILE_BYTES"
# Opening a FIFO for reading waits for a writer unless it is opened without blocking.
_OPEN_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC
_CHUNK = 1 << 20
_KINDS = {
    stat.S_IFDIR: "a folder",
    stat.S_IFIFO: "a FIFO",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
}


def iter_sources(paths: Sequence[str | Path]) -> Iterator[tuple[Path, Path]]:
    """Yield ``(file, base)`` for each file to read; ``base`` is what doc ids are relative to.

    A folder is walked recursively in sorted order, skipping hidden files and folders and
    files without a supported suffix; its files get the folder as base. A file is yielded
    as given (whatever its suffix, so that ``read_path`` can say why it is not read), with
    its own folder as base; so is a symlink that leads nowhere (a loop, a missing target).
    A folder the walk cannot list is yielded in its place in the walk, for the same reason.

    Raises:
        InputError: a path that does not exist, when the walk reaches it.
    """
    for given in paths:
        path = Path(given)
        if path.is_dir():
            yield from ((file, path) for file in _walk(path))
        elif path.exists() or path.is_symlink():
            yield path, path.parent
        else:
            raise InputError(f"no such file or folder: {given}")


def _walk(folder: Path) -> Iterator[Path]:
    # os.walk drops a folder it cannot list unless told: each is yielded when it fails.
    unlisted: list[OSError] = []
    for root, dirs, files in os.walk(folder, onerror=unlisted.append):
        yield from _failed(unlisted, folder)
        # Sorting in place also fixes the order os.walk descends in.
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if not name.startswith(".") and Path(name).suffix.lower() in READERS:
                yield Path(root, name)
    yield from _failed(unlisted, folder)


def _failed(unlisted: list[OSError], folder: Path) -> Iterator[Path]:
    while unlisted:
        error = unlisted.pop(0)
        yield Path(error.filename) if error.filename else folder


def read_path(path: Path, base: Path | None = None) -> list[Document]:
    """Read one file into Documents; doc ids are its path relative to ``base``, no suffix.

    ``base`` defaults to the file's folder. A file that yields several Q&A articles gives
    each the id ``<path>#<slug of the question>``.

    Only regular files are read (a FIFO, device or socket is refused unread, so that it
    can neither block nor stream forever), up to ``MAX_FILE_BYTES`` or the number of bytes
    in the environment variable ``ANSWERDB_MAX_FILE_BYTES``.

    Raises:
        InputError: the file cannot be read (a folder: cannot be listed), is not a regular
            file, is over the size limit, has an unsupported suffix, or its content is bad
            (binary, not UTF-8, empty, malformed); the message starts with the path.
    """
    path = Path(path)
    if _is_folder(path):
        raise _folder_error(path)
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        formats = ", ".join(SUPPORTED)
        raise InputError(f"{path}: unsupported format (supported: {formats})")
    return reader(Source(path, _read_bytes(path), base_doc_id(path, base or path.parent)))


def _is_folder(path: Path) -> bool:
    try:
        return stat.S_ISDIR(os.stat(path).st_mode)
    except OSError:  # not a folder that can be seen: reading it says why
        return False


def _folder_error(folder: Path) -> InputError:
    """Why a folder is not read: it cannot be listed (``iter_sources`` yields those), or it
    is a folder, not a file."""
    try:
        with os.scandir(folder) as entries:
            for _ in entries:
                pass
    except OSError as exc:
        return InputError(f"{folder}: cannot read folder: {exc.strerror or exc}")
    return _not_regular(folder, stat.S_IFDIR)


def _max_file_bytes() -> int:
    """The largest file read: ``$ANSWERDB_MAX_FILE_BYTES`` when set, else MAX_FILE_BYTES.

    Raises:
        InputError: the variable is set to anything but a whole number of bytes above 0.
    """
    value = os.environ.get(_SIZE_VARIABLE, "").strip()
    if not value:
        return MAX_FILE_BYTES
    if not (value.isascii() and value.isdigit()) or int(value) < 1:
        raise InputError(f"{_SIZE_VARIABLE}={value!r}: give a whole number of bytes above 0")
    return int(value)


def _read_bytes(path: Path) -> bytes:
    """A regular file's bytes; anything else (FIFO, device, folder) is refused unread."""
    limit = _max_file_bytes()
    file, size = _open_regular(path)
    with file:
        try:
            return _read_capped(path, file, size, limit)
        except OSError as exc:
            raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None


def _open_regular(path: Path) -> tuple[BinaryIO, int]:
    """The file opened for reading, and its size, when it is a regular file."""
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as exc:
        raise _cannot_open(path, exc) from None
    try:
        info = os.fstat(fd)
        if stat.S_ISREG(info.st_mode):
            return open(fd, "rb"), info.st_size
    except BaseException:
        os.close(fd)
        raise
    os.close(fd)
    raise _not_regular(path, info.st_mode)


def _read_capped(path: Path, file: BinaryIO, size: int, limit: int) -> bytes:
    """The file's bytes, ``size`` of them as fstat said, refused past ``limit``."""
    if size > limit:
        raise _too_large(path, limit)
    # One read of the size fstat gave; a file that grew since is read on in chunks.
    parts = [file.read(size)]
    total = len(parts[0])
    while total <= limit and (chunk := file.read(_CHUNK)):
        parts.append(chunk)
        total += len(chunk)
    if total > limit:
        raise _too_large(path, limit)
    return parts[0] if len(parts) == 1 else b"".join(parts)


def _cannot_open(path: Path, exc: OSError) -> InputError:
    if isinstance(exc, FileNotFoundError) and path.is_symlink():
        return InputError(f"{path}: cannot read: broken symlink to {os.readlink(path)}")
    if isinstance(exc, FileNotFoundError):
        return InputError(f"no such file or folder: {path}")
    if exc.errno == errno.ELOOP:
        return InputError(f"{path}: cannot read: symlink loop")
    if exc.errno == errno.ENXIO:  # a socket, or a device with no driver
        return _not_regular(path, _mode(path))
    return InputError(f"{path}: cannot read: {exc.strerror or exc}")


def _mode(path: Path) -> int:
    try:
        return os.stat(path).st_mode
    except OSError:
        return 0


def _not_regular(path: Path, mode: int) -> InputError:
    kind = _KINDS.get(stat.S_IFMT(mode), "a special file")
    return InputError(f"{path}: cannot read: {kind}, not a regular file")


def _too_large(path: Path, limit: int) -> InputError:
    return InputError(
        f"{path}: larger than {limit:,} bytes, the most read from one file"
        f" (raise it with {_SIZE_VARIABLE})"
    )


def total_bytes(files: Iterable[Path]) -> int:
    """The files' total size (one that cannot be read counts 0: reading it will say why)."""
    total = 0
    for file in files:
        with suppress(OSError):
            total += file.stat().st_size
    return total
