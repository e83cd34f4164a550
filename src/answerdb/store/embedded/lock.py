"""The writer lock (invariant 3): one writer per knowledge base, any number of readers."""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path
from types import TracebackType

from answerdb.errors import LockedError, StoreError


class WriterLock:
    """An exclusive ``flock`` on ``writer.lock``; released by the OS if the process dies."""

    def __init__(self, path: Path, timeout: float) -> None:
        self.path = path
        self.timeout = timeout
        self._fd: int | None = None

    def __enter__(self) -> WriterLock:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:  # the folder went read-only or away since the store opened
            raise StoreError(f"{self.path.parent}: cannot write here: {exc.strerror}") from None
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise LockedError(
                        f"{self.path.parent}: another process is writing to this knowledge base"
                        f" (waited {self.timeout:g} s for it); try again when it has finished"
                    ) from None
                time.sleep(0.05)
        self._fd = fd
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
