"""Serve a knowledge base: a reference site and a JSON API."""

from __future__ import annotations

try:
    import fastapi  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the environment
    # FastAPI is a dependency of answerdb; an install without it is damaged or partial.
    raise ImportError(
        "serving needs fastapi: pip install --upgrade answerdb", name="fastapi"
    ) from exc

from answerdb.server.app import create_app
from answerdb.server.config import ServerSettings
from answerdb.server.pool import KnowledgeBase

__all__ = ["KnowledgeBase", "ServerSettings", "create_app"]
