"""What a server is told at start: keys, limits, the LLM endpoint."""

from __future__ import annotations

import os
from dataclasses import dataclass

from answerdb.answer.generate import LLMConfig

MAX_BODY = 10 * 1024 * 1024


@dataclass(frozen=True)
class ServerSettings:
    """``api_key`` guards writes (and reads when ``protect_reads``); ``max_body`` bounds a
    request in bytes; ``llm`` enables generated answers; ``readers`` sizes the handle pool."""

    api_key: str | None = None
    protect_reads: bool = False
    max_body: int = MAX_BODY
    llm: LLMConfig | None = None
    readers: int = 4
    title: str = "answerdb"
    # Below this relevance a question gets "no good answer" (None: the model's measured floor).
    min_relevance: float | None = None

    @classmethod
    def from_env(cls, **overrides: object) -> ServerSettings:
        """Settings with ANSWERDB_API_KEY and the ANSWERDB_LLM_* variables filled in."""
        values: dict[str, object] = {
            "api_key": os.environ.get("ANSWERDB_API_KEY") or None,
            "llm": LLMConfig.from_env(),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]
