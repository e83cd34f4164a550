"""The knowledge base's folder, made ready for a writer when the store opens: created, and
proved writable by opening its lock file. A write that cannot happen (a path that is a file,
a read-only filesystem, no permission) is then refused at once, naming the folder, rather
than after an ingest has embedded every passage."""

from __future__ import annotations

import os
from pathlib import Path

from answerdb.errors import InputError, StoreError

LOCK_FILE = "writer.lock"
READ_ONLY_HINT = "open it read-only to search it"


def prepare_for_writing(path: Path) -> None:
    """Create ``path`` and its lock file. InputError when no folder can be there, StoreError
    when the filesystem or its permissions refuse to write."""
    _create(path)
    try:
        os.close(os.open(path / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644))
    except OSError as exc:
        raise StoreError(f"{path}: cannot write here: {exc.strerror}; {READ_ONLY_HINT}") from None


def _create(path: Path) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise InputError(f"{path}: exists and is not a folder; a knowledge base is one") from None
    except NotADirectoryError:
        raise InputError(f"{path}: cannot be a folder: a part of it is a file") from None
    except OSError as exc:
        why = exc.strerror
        raise StoreError(f"{path}: cannot create the knowledge base folder: {why}") from None
