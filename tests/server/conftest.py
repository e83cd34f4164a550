"""Server fixtures: a writable copy of the demo knowledge base, apps, and a live server."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from answerdb.embed import Embedder
from answerdb.server import KnowledgeBase, ServerSettings, create_app

from .openapi_check import SchemaCheckedClient

KEY = "test-key"


@pytest.fixture
def kb_copy(tmp_path: Path, demo_kb: Path) -> Path:
    """A private copy of the demo knowledge base that a test may write to."""
    path = tmp_path / "kb"
    shutil.copytree(demo_kb, path)
    return path


def make_app(path: Path, embedder: Embedder, **settings: object) -> FastAPI:
    """An app on ``path`` with the shared model; ``settings`` override ServerSettings."""
    values: dict[str, object] = {"api_key": KEY, "llm": None, "readers": 2}
    values.update(settings)
    kb = KnowledgeBase.open(path, readers=2, embedder=embedder)
    return create_app(kb, ServerSettings(**values))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def read_app(demo_kb: Path, minilm: Embedder) -> Iterator[FastAPI]:
    """An app on the shared demo knowledge base, for tests that only read."""
    app = make_app(demo_kb, minilm)
    yield app
    app.state.kb.close()


@pytest.fixture(scope="module")
def client(read_app: FastAPI) -> Iterator[TestClient]:
    with SchemaCheckedClient(read_app) as test_client:
        yield test_client


@pytest.fixture
def write_client(kb_copy: Path, minilm: Embedder) -> Iterator[TestClient]:
    app = make_app(kb_copy, minilm)
    with SchemaCheckedClient(app) as test_client:
        yield test_client
    app.state.kb.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def live_server(app: FastAPI) -> Iterator[str]:
    """Run ``app`` under uvicorn on 127.0.0.1 at a free port; yield its base URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)
