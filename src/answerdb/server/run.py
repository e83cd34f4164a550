"""`answerdb serve`: run the app under uvicorn with JSON access logs on stderr."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import uvicorn

from answerdb.server.app import create_app
from answerdb.server.config import ServerSettings
from answerdb.server.pool import KnowledgeBase


def serve(location: str | Path, host: str, port: int, settings: ServerSettings) -> None:
    """Serve the knowledge base at ``location`` (a folder or a store URI) until interrupted."""
    kb = KnowledgeBase.open(location, readers=settings.readers, create=False)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    access = logging.getLogger("answerdb.access")
    access.addHandler(handler)
    access.setLevel(logging.INFO)
    access.propagate = False
    app = create_app(kb, settings)
    where = f"http://{host}:{port}"
    print(f"answerdb: serving {location} at {where} (API docs at {where}/docs)", file=sys.stderr)
    if settings.api_key is None:
        print("answerdb: writes are off; set ANSWERDB_API_KEY to allow them", file=sys.stderr)
    try:
        uvicorn.run(app, host=host, port=port, access_log=False, log_level="warning")
    finally:
        kb.close()
