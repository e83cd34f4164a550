"""`answerdb serve`: run the app under uvicorn with JSON access logs on stderr."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import uvicorn

import answerdb
from answerdb.db import AnswerDB
from answerdb.errors import InputError
from answerdb.server.app import create_app
from answerdb.server.config import ServerSettings
from answerdb.store.uri import parse_store_uri


def serve(location: str | Path, host: str, port: int, settings: ServerSettings) -> None:
    """Serve the knowledge base at ``location`` (a folder or a store URI) until interrupted."""
    spec = parse_store_uri(location)
    kb: Path | AnswerDB
    if spec.backend == "embedded":
        kb = Path(spec.location)
        if not (kb / "catalog.sqlite").exists():
            raise InputError(f"{kb}: not a knowledge base (run `answerdb ingest {kb} FILES`)")
    else:
        # Milvus: one client handle, reads and writes take turns behind the app's lock.
        kb = answerdb.open(location)
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
    uvicorn.run(app, host=host, port=port, access_log=False, log_level="warning")
