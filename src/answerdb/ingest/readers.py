"""Find source files and read each into Documents, choosing the reader by file suffix.

Every problem with a file's content is an :class:`~answerdb.errors.InputError` whose message
starts with the file's path, so that ingest can report it by name and go on (invariant 8).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from answerdb.errors import InputError
from answerdb.types import Document

from .common import Source, base_doc_id
from .markdown import read_markdown
from .plaintext import read_pdf, read_text
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


def iter_sources(paths: Sequence[str | Path]) -> Iterator[tuple[Path, Path]]:
    """Yield ``(file, base)`` for each file to read; ``base`` is what doc ids are relative to.

    A folder is walked recursively in sorted order, skipping hidden files and folders and
    files without a supported suffix; its files get the folder as base. A file is yielded
    as given (whatever its suffix, so that ``read_path`` can say why it is not read), with
    its own folder as base.

    Raises:
        InputError: a path that does not exist, when the walk reaches it.
    """
    for given in paths:
        path = Path(given)
        if path.is_dir():
            yield from ((file, path) for file in _walk(path))
        elif path.exists():
            yield path, path.parent
        else:
            raise InputError(f"no such file or folder: {given}")


def _walk(folder: Path) -> Iterator[Path]:
    for root, dirs, files in os.walk(folder):
        # Sorting in place also fixes the order os.walk descends in.
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if not name.startswith(".") and Path(name).suffix.lower() in READERS:
                yield Path(root, name)


def read_path(path: Path, base: Path | None = None) -> list[Document]:
    """Read one file into Documents; doc ids are its path relative to ``base``, no suffix.

    ``base`` defaults to the file's folder. A file that yields several Q&A articles gives
    each the id ``<path>#<slug of the question>``.

    Raises:
        InputError: the file cannot be read, has an unsupported suffix, or its content is
            bad (binary, not UTF-8, empty, malformed); the message starts with the path.
    """
    path = Path(path)
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        formats = ", ".join(SUPPORTED)
        raise InputError(f"{path}: unsupported format (supported: {formats})")
    return reader(Source(path, _read_bytes(path), base_doc_id(path, base or path.parent)))


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"no such file or folder: {path}") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
