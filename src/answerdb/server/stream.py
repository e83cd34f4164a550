"""A generated answer as Server-Sent Events: ``answer`` (extractive), ``token`` pieces, then
``done`` (the checked answer, or the extractive one with a note)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from fastapi.responses import StreamingResponse

from answerdb.answer.generate import LLMConfig
from answerdb.db import AnswerDB
from answerdb.server.payloads import answer_json
from answerdb.types import Answer

# Proxies and browsers must pass each event on as it comes, not keep or gather them.
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}

SSE_DESCRIPTION = (
    "With generate and stream: Server-Sent Events. `answer` carries the extractive answer, "
    'each `token` a piece of text (`{"text": ...}`), and `done` the final answer; all but '
    "`token` have the JSON shape of AnswerOut."
)


def sse_response(config: LLMConfig, answer: Answer) -> StreamingResponse:
    """The events as a streaming response that nothing between should buffer."""
    return StreamingResponse(
        events(config, answer), media_type="text/event-stream", headers=SSE_HEADERS
    )


def events(config: LLMConfig, answer: Answer) -> Iterator[str]:
    """The events, one string each."""
    yield _event("answer", answer_json(answer))
    for item in AnswerDB.generate_stream(answer, config):
        if isinstance(item, str):
            yield _event("token", {"text": item})
        else:
            yield _event("done", answer_json(item))


def _event(name: str, data: Any) -> str:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"
