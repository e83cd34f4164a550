"""A small OpenAI-compatible chat-completions server on loopback, for tests only.

It answers ``POST /v1/chat/completions`` with a fixed reply, whole or streamed as SSE chunks,
and records the requests it got. A stream starts and ends with chunks whose ``choices`` is
empty, as Azure OpenAI's content-filter results and OpenAI's ``include_usage`` total are.
``behaviour`` switches it to failing (HTTP 500), slow (it waits longer than any test timeout)
or garbled (a body that is not a chat completion).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

REPLY = "Computer vision engineers build and train models [1]. Imaging specialists exist [2]."


class FakeLLM:
    """The server's state: what it replies and what it was asked."""

    def __init__(self) -> None:
        self.reply = REPLY
        self.behaviour = "ok"  # ok | error | slow | garbled
        self.delay = 0.0  # seconds between streamed chunks, to watch an answer being written
        self.requests: list[dict[str, Any]] = []
        self.url = ""


def _handler(state: FakeLLM) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # keep test output quiet
            pass

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            state.requests.append({"body": body, "auth": self.headers.get("Authorization")})
            if state.behaviour == "slow":
                time.sleep(3)
            if self.path != "/v1/chat/completions" or state.behaviour == "error":
                self._send(500, b'{"error": "boom"}', "application/json")
            elif state.behaviour == "garbled":
                self._send(200, b'{"nothing": "here"}', "application/json")
            elif body.get("stream"):
                self._stream(state.reply)
            else:
                message = {"role": "assistant", "content": state.reply}
                reply = {"choices": [{"index": 0, "message": message, "finish_reason": "stop"}]}
                self._send(200, json.dumps(reply).encode(), "application/json")

        def _send(self, status: int, data: bytes, kind: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _stream(self, text: str) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            # Azure OpenAI sends its prompt filter results first, with no choices.
            _chunk(self.wfile, {"choices": [], "prompt_filter_results": [{"prompt_index": 0}]})
            for word in text.split(" "):
                time.sleep(state.delay)
                _chunk(self.wfile, {"choices": [{"index": 0, "delta": {"content": word + " "}}]})
            # stream_options.include_usage ends with a usage total, again with no choices.
            _chunk(
                self.wfile, {"choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 9}}
            )
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()

    return Handler


def _chunk(out: Any, chunk: dict[str, Any]) -> None:
    out.write(f"data: {json.dumps(chunk)}\n\n".encode())
    out.flush()


@contextmanager
def running() -> Iterator[FakeLLM]:
    """Start the server on 127.0.0.1 at a free port; stop it when the block ends."""
    state = FakeLLM()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
