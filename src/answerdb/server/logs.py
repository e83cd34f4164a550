"""The server's stderr as JSON lines: access lines, library warnings and uvicorn's messages
all pass through one handler, one whole line at a time, so none lands inside another and
every line parses."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from answerdb.server.middleware import access_log


class JsonLines(logging.Formatter):
    """Access entries as they are (already JSON); anything else as a JSON object."""

    def format(self, record: logging.LogRecord) -> str:
        if record.name == access_log.name:
            return record.getMessage()
        entry = {
            "ts": round(record.created, 3),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage().strip(),
        }
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


@contextmanager
def json_logging(stream: TextIO | None = None) -> Iterator[logging.Handler]:
    """Send access logs (INFO) and every warning or error to ``stream`` (stderr) as JSON lines
    until the block ends; ``warnings.warn`` is routed through logging meanwhile."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonLines())
    root = logging.getLogger()
    before = (root.level, access_log.level)
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    access_log.setLevel(logging.INFO)
    logging.captureWarnings(True)
    try:
        yield handler
    finally:
        logging.captureWarnings(False)
        root.removeHandler(handler)
        root.setLevel(before[0])
        access_log.setLevel(before[1])
