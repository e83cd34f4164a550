"""`answerdb serve`: run the app under uvicorn, logging JSON lines on stderr."""

from __future__ import annotations

import ipaddress
import sys
from pathlib import Path

import uvicorn

from answerdb.server.app import create_app
from answerdb.server.config import ServerSettings
from answerdb.server.logs import json_logging
from answerdb.server.pool import KnowledgeBase


def serve(location: str | Path, host: str, port: int, settings: ServerSettings) -> None:
    """Serve the knowledge base at ``location`` (a folder or a store URI) until interrupted."""
    kb = KnowledgeBase.open(
        location, readers=settings.readers, create=False, min_relevance=settings.min_relevance
    )
    app = create_app(kb, settings)
    for line in start_lines(str(location), host, port, settings):
        print(line, file=sys.stderr)
    try:
        with json_logging():
            # log_config=None: uvicorn's own messages reach the JSON handler like the rest.
            uvicorn.run(
                app, host=host, port=port, access_log=False, log_level="warning", log_config=None
            )
    finally:
        kb.close()


def start_lines(location: str, host: str, port: int, settings: ServerSettings) -> list[str]:
    """What the server says as it starts: where it is, and what is open to whom."""
    where = f"http://{host}:{port}"
    lines = [f"answerdb: serving {location} at {where} (API docs at {where}/docs)"]
    if settings.api_key is None:
        lines.append("answerdb: writes are off; set ANSWERDB_API_KEY to allow them")
        if not is_loopback(host):
            lines.append(
                f"answerdb: warning: bound to {host}, reachable from other machines, with no "
                "API key: anyone who can reach it reads everything; set ANSWERDB_API_KEY, use "
                "--protect-reads, and put a TLS proxy in front"
            )
    return lines


def is_loopback(host: str) -> bool:
    """Whether ``host`` is reachable from this machine alone."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name other than localhost may resolve to anything
