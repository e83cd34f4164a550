"""Embedding in a child process, for a model that holds the GIL while it embeds.

A pure-Python model (the static one) on a worker thread only takes turns with the thread that
writes; in a process of its own it embeds while the parent writes, and both cores work. The
child is a fresh interpreter running ``main()``, not a multiprocessing worker:
multiprocessing's spawn re-runs the caller's main script in the child. The two processes exchange
length-prefixed pickles over the child's private stdin and stdout pipes.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import struct
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from answerdb.embed.base import Embedder, Progress, Vectors
from answerdb.errors import AnswerDBError

_LENGTH = struct.Struct("<Q")
# How long close() waits for the child to finish its last batch and exit.
EXIT_WAIT_S = 30.0


def send(stream: IO[bytes], message: object) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_LENGTH.pack(len(data)))
    stream.write(data)
    stream.flush()


def receive(stream: IO[bytes]) -> Any:
    """The next message; EOFError when the other side closed its end."""
    head = stream.read(_LENGTH.size)
    if len(head) < _LENGTH.size:
        raise EOFError("the pipe closed")
    (size,) = _LENGTH.unpack(head)
    data = stream.read(size)
    if len(data) < size:
        raise EOFError("the pipe closed mid-message")
    return pickle.loads(data)


class ProcessEmbedder:
    """``embedder`` (which must pickle) run in a child process: same name, revision, dim and
    vectors. Call ``close()`` when done. Calls from several threads take turns."""

    def __init__(self, embedder: Embedder) -> None:
        self.name, self.revision, self.dim = embedder.name, embedder.revision, embedder.dim
        # The child imports answerdb from where this process did (it may not be installed).
        package_root = str(Path(__file__).resolve().parents[2])
        path = os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")]))
        self._child = subprocess.Popen(
            [sys.executable, "-c", "from answerdb.embed.worker import main; main()"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": path},
        )
        self._turn = threading.Lock()
        # The child imports answerdb and loads the model while the parent goes on.
        self._call(embedder)

    def embed(self, texts: Sequence[str], progress: Progress | None = None) -> Vectors:
        """Raises what the model raised in the child, or AnswerDBError if the child died."""
        reply = self._call(list(texts), wait=True)
        if isinstance(reply, BaseException):
            raise reply
        if progress is not None:
            progress(len(texts))
        vectors: Vectors = reply
        return vectors

    def embed_query(self, text: str) -> Vectors:
        vector: Vectors = self.embed([text])[0]
        return vector

    def _call(self, message: object, wait: bool = False) -> Any:
        assert self._child.stdin is not None and self._child.stdout is not None
        try:
            with self._turn:
                send(self._child.stdin, message)
                return receive(self._child.stdout) if wait else None
        except (OSError, EOFError, ValueError) as exc:  # ValueError: the pipe was closed here
            status = self._child.poll()
            raise AnswerDBError(
                f"the embedding process ({self.name}) stopped, exit status {status}"
            ) from exc

    def close(self) -> None:
        """Let the child finish and exit (closing its input ends its loop); kill it if it
        does not within EXIT_WAIT_S."""
        if self._child.stdin is not None and not self._child.stdin.closed:
            # OSError: the child died with data unread, there is nothing left to tell it.
            with contextlib.suppress(OSError):
                self._child.stdin.close()
        try:
            self._child.wait(timeout=EXIT_WAIT_S)
        except subprocess.TimeoutExpired:
            self._child.kill()
            self._child.wait()
        if self._child.stdout is not None:
            self._child.stdout.close()


def serve(requests: IO[bytes], replies: IO[bytes]) -> None:
    """The child's loop: an embedder first, then lists of texts until the input closes."""
    embedder: Embedder = receive(requests)
    while True:
        try:
            texts = receive(requests)
        except EOFError:
            return
        try:
            reply: object = embedder.embed(texts)
        except Exception as exc:  # handed back to be raised in the parent
            reply = exc
        try:
            send(replies, reply)
        except (pickle.PicklingError, TypeError, AttributeError):
            send(replies, AnswerDBError(f"embedding failed: {reply!r}"))


def main() -> None:
    """The child's entry point: the pipe to the parent is the original stdout; anything
    printed goes to stderr. Ctrl-C is the parent's to handle: it closes the pipe, and the
    child ends when its input does."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    serve(sys.stdin.buffer, replies)
