"""Serve a knowledge base: a reference site and a JSON API (needs the ``serve`` extra)."""

from __future__ import annotations

try:
    import fastapi  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("serving needs the 'serve' extra: pip install 'answerdb[serve]'") from exc

from answerdb.server.app import create_app
from answerdb.server.config import ServerSettings
from answerdb.server.pool import KnowledgeBase

__all__ = ["KnowledgeBase", "ServerSettings", "create_app"]
