"""Embedding in a child process, for a model that holds the GIL while it embeds.

A pure-Python model (the static one) on a worker thread only takes turns with the thread that
writes; in a process of its own it embeds while the parent writes, and both cores work. The
child is a fresh interpreter running ``main()``, not a multiprocessing worker:
multiprocessing's spawn re-runs the caller's main script in the child. The two processes exchange
length-prefixed pickles over the child's private stdin and stdout pipes.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import select
import signal
import struct
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from answerdb.embed.base import Embedder, Progress
from answerdb.errors import AnswerDBError
from answerdb.types import Vectors

_LENGTH = struct.Struct("<Q")
# How long close() waits for the child to finish its last batch and exit.
EXIT_WAIT_S = 30.0
# The child's first message: the model is loaded.
READY = "ready"
log = logging.getLogger(__name__)


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
    vectors. If the child cannot start or dies, the model goes on in this process (the vectors
    are the same), with a warning. Call ``close()`` when done; calls from threads take turns."""

    def __init__(self, embedder: Embedder) -> None:
        self.name, self.revision, self.dim = embedder.name, embedder.revision, embedder.dim
        self._local = embedder
        self._turn = threading.Lock()
        self._child: subprocess.Popen[bytes] | None = None
        # The child imports answerdb from where this process did (it may not be installed).
        package_root = str(Path(__file__).resolve().parents[2])
        path = os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")]))
        try:
            self._child = child = subprocess.Popen(
                [sys.executable, "-c", "from answerdb.embed.worker import main; main()"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                env={**os.environ, "PYTHONPATH": path},
            )
            # The child imports answerdb and loads the model while the parent goes on.
            self._call(child, embedder)
        except (OSError, AnswerDBError) as exc:
            self._give_up(exc)
        self._ready = False  # the child said it has loaded the model

    def embed(self, texts: Sequence[str], progress: Progress | None = None) -> Vectors:
        """Raises what the model raised (in the child or here). Until the child has loaded
        the model, texts are embedded here: that wait would leave this core idle."""
        child = self._child  # None once the child is gone (or closed)
        if child and not (self._ready or self._loaded(child)):
            child = None
        reply = self._remote(child, list(texts)) if child else self._local.embed(texts)
        if isinstance(reply, BaseException):
            raise reply
        if progress is not None:
            progress(len(texts))
        vectors: Vectors = reply
        return vectors

    def embed_query(self, text: str) -> Vectors:
        vector: Vectors = self.embed([text])[0]
        return vector

    def embed_here(self, texts: Sequence[str]) -> Vectors:
        """The same vectors from the model in this process: for a caller with a core to spare
        while the child works (calls from threads need not take turns for it)."""
        return self._local.embed(texts)

    def _loaded(self, child: subprocess.Popen[bytes]) -> bool:
        """Whether the child's ready message has come (read here, without waiting)."""
        assert child.stdout is not None
        with self._turn:
            try:
                if not self._ready and select.select([child.stdout], [], [], 0)[0]:
                    self._ready = receive(child.stdout) == READY
            except (OSError, EOFError):  # a pipe select cannot watch, or a child that died:
                self._ready = True  # the next call waits for it, or gives up on it
        return self._ready

    def _remote(self, child: subprocess.Popen[bytes], texts: list[str]) -> Any:
        try:
            return self._call(child, texts, wait=True)
        except AnswerDBError as exc:
            self._give_up(exc)
            return self._local.embed(texts)

    def _call(self, child: subprocess.Popen[bytes], message: object, wait: bool = False) -> Any:
        assert child.stdin is not None and child.stdout is not None
        try:
            with self._turn:
                send(child.stdin, message)
                return receive(child.stdout) if wait else None
        except (OSError, EOFError, ValueError) as exc:  # ValueError: the pipe was closed here
            raise AnswerDBError(
                f"the embedding process ({self.name}) stopped, exit status {child.poll()}"
            ) from exc

    def _give_up(self, exc: Exception) -> None:
        log.warning("%s; embedding goes on in this process", exc)
        self.close()

    def close(self) -> None:
        """Let the child finish and exit (closing its input ends its loop); kill it if it
        does not within EXIT_WAIT_S. Later calls embed in this process."""
        child, self._child = self._child, None
        if child is None:
            return
        if child.stdin is not None and not child.stdin.closed:
            # OSError: the child died with data unread, there is nothing left to tell it.
            with contextlib.suppress(OSError):
                child.stdin.close()
        try:
            child.wait(timeout=EXIT_WAIT_S)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        if child.stdout is not None:
            child.stdout.close()


def serve(requests: IO[bytes], replies: IO[bytes]) -> None:
    """The child's loop: an embedder first, then lists of texts until the input closes."""
    embedder: Embedder = receive(requests)
    send(replies, READY)
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
    child ends when its input does: at once, for every reply has been flushed (an
    interpreter's orderly exit would keep the parent waiting ~0.1 s for nothing)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    serve(sys.stdin.buffer, replies)
    sys.stderr.flush()
    os._exit(0)
