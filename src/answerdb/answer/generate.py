"""LLM answers over an OpenAI-compatible chat-completions endpoint (RAG), checked and cited.

The prompt numbers the retrieved passages and asks for an answer that cites them as ``[n]``;
citations to passages that were not given are removed and reported. Any error or timeout
falls back to the extractive answer with a note saying why.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from answerdb.errors import AnswerDBError
from answerdb.text import CITATION
from answerdb.types import Answer, Citation, Hit

SYSTEM_PROMPT = (
    "You answer questions from a knowledge base. Use only the numbered passages given. "
    "After each sentence, cite the passages it relies on as [n]. If the passages do not "
    "answer the question, say so briefly."
)


class LLMError(AnswerDBError):
    """The language model endpoint failed, timed out or answered something unreadable."""


@dataclass(frozen=True)
class LLMConfig:
    """Where the chat-completions endpoint is and how long to wait for it.

    ``url`` is the API base (``http://127.0.0.1:11434/v1``) or the full
    ``.../chat/completions`` address; ``timeout`` bounds the whole answer, in seconds.
    """

    url: str
    model: str
    api_key: str = ""
    timeout: float = 30.0
    max_tokens: int = 512

    @property
    def endpoint(self) -> str:
        base = self.url.rstrip("/")
        return base if base.endswith("/chat/completions") else base + "/chat/completions"

    @classmethod
    def from_env(cls, url: str | None = None, model: str | None = None) -> LLMConfig | None:
        """The config from arguments, else ANSWERDB_LLM_URL / _MODEL / _API_KEY; None if unset."""
        url = url or os.environ.get("ANSWERDB_LLM_URL", "")
        if not url:
            return None
        model = model or os.environ.get("ANSWERDB_LLM_MODEL", "") or "default"
        return cls(url=url, model=model, api_key=os.environ.get("ANSWERDB_LLM_API_KEY", ""))


@dataclass(frozen=True)
class CheckedText:
    """Generated text with citations to unknown passages removed."""

    text: str
    cited: list[int]
    unknown: list[int]


def messages(question: str, hits: list[Hit]) -> list[dict[str, str]]:
    """The chat messages: instructions, then the numbered passages and the question."""
    passages = "\n\n".join(
        f"[{n}] {hit.heading}\n{hit.text}".strip() for n, hit in enumerate(hits, start=1)
    )
    user = f"Passages:\n\n{passages}\n\nQuestion: {question}\nAnswer with citations [n]:"
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]


# A run of citation marks with what belongs to it: "(see passages [2] and [9])", " [1][3]".
_CITED_RUN = re.compile(
    r"(?P<pre>[ \t]*)(?P<open>\((?:see |cf\. )?)?"
    r"(?P<lead>(?:\b(?:see|in|from|per|cf\.)[ \t]+)?\b(?:passages?|sources?)[ \t]+)?"
    r"(?P<marks>\[\d{1,3}\](?:[ \t]*(?:,|;|and|&|or)?[ \t]*\[\d{1,3}\])*)"
    r"(?P<close>\))?",
    re.IGNORECASE,
)


def check_citations(text: str, passages: int) -> CheckedText:
    """Keep ``[n]`` marks for passages 1..``passages``; drop (and list) any other, with the
    words that only introduced it ("in passage [9]") and the space before it."""
    cited: list[int] = []
    unknown: list[int] = []

    def keep(match: re.Match[str]) -> str:
        numbers = [int(n) for n in CITATION.findall(match.group("marks"))]
        known = [n for n in numbers if 1 <= n <= passages]
        cited.extend(known)
        unknown.extend(n for n in numbers if n not in known)
        if known:
            return _rebuilt(match, known)
        return _removed(match)

    checked = _CITED_RUN.sub(keep, text)
    return CheckedText(checked.strip(), sorted(set(cited)), sorted(set(unknown)))


def _rebuilt(match: re.Match[str], known: list[int]) -> str:
    """The run with only the ``known`` marks, joined as they were written."""
    marks = match.group("marks")
    adjacent = re.fullmatch(r"(?:\[\d{1,3}\])+", marks) is not None
    written = [f"[{n}]" for n in known]
    joined = "".join(written) if adjacent else " and ".join(written)
    lead = match.group("lead") or ""
    if len(known) == 1:
        lead = re.sub(r"\b(passage|source)s\b", r"\1", lead, flags=re.IGNORECASE)
    parts = (match.group("pre"), match.group("open"), lead, joined, match.group("close"))
    return "".join(p or "" for p in parts)


def _removed(match: re.Match[str]) -> str:
    """What stays of a run of unknown marks: a bracket left open or closed by other words,
    and one space where words would otherwise meet."""
    opened, closed = match.group("open"), match.group("close")
    if bool(opened) != bool(closed):
        return (match.group("pre") or "") + (opened or closed or "")
    after = match.string[match.end() : match.end() + 1]
    return match.group("pre")[:1] if after.isalnum() else ""


def complete(config: LLMConfig, question: str, hits: list[Hit]) -> str:
    """The whole answer in one response. Raises LLMError."""
    body = _body(config, question, hits, stream=False)
    try:
        with _client(config) as client:
            response = client.post(config.endpoint, json=body, headers=_headers(config))
            response.raise_for_status()
            return str(response.json()["choices"][0]["message"]["content"] or "")
    except (httpx.HTTPError, ValueError, KeyError, IndexError, TypeError) as exc:
        raise LLMError(_describe(exc, config)) from exc


def stream(config: LLMConfig, question: str, hits: list[Hit]) -> Iterator[str]:
    """The answer as it is produced, piece by piece (SSE). Raises LLMError."""
    body = _body(config, question, hits, stream=True)
    deadline = time.monotonic() + config.timeout
    try:
        with (
            _client(config) as client,
            client.stream("POST", config.endpoint, json=body, headers=_headers(config)) as r,
        ):
            r.raise_for_status()
            for line in r.iter_lines():
                if time.monotonic() > deadline:
                    raise httpx.ReadTimeout("the answer took too long")
                piece = _sse_piece(line)
                if piece is None:
                    break
                if piece:
                    yield piece
    except (httpx.HTTPError, ValueError, KeyError, IndexError, TypeError) as exc:
        raise LLMError(_describe(exc, config)) from exc


def generated_answer(answer: Answer, text: str) -> Answer:
    """``answer`` with the generated text, its citations checked against ``answer.hits``."""
    checked = check_citations(text, len(answer.hits))
    if not checked.text:
        return fallback(answer, "the language model returned an empty answer")
    note = ""
    if checked.unknown:
        marks = ", ".join(f"[{n}]" for n in checked.unknown)
        note = f"Removed citations to passages that were not given: {marks}."
    citations = [Citation(number=n, hit=answer.hits[n - 1]) for n in checked.cited]
    return dataclasses.replace(
        answer, text=checked.text, citations=citations, generated=True, note=note
    )


def fallback(answer: Answer, reason: str) -> Answer:
    """The extractive answer, with a note saying why the generated one is missing."""
    return dataclasses.replace(
        answer,
        generated=False,
        note=f"The language model did not answer ({reason}); showing the extractive answer.",
    )


def generate(config: LLMConfig, answer: Answer) -> Answer:
    """Replace an extractive answer with a generated one, or keep it with a note."""
    if not answer.hits:
        return answer
    try:
        return generated_answer(answer, complete(config, answer.question, answer.hits))
    except LLMError as exc:
        return fallback(answer, str(exc))


def stream_answer(config: LLMConfig, answer: Answer) -> Iterator[str | Answer]:
    """Yield the generated text piece by piece, then the final checked Answer (or fallback)."""
    if not answer.hits:
        yield answer
        return
    pieces: list[str] = []
    try:
        for piece in stream(config, answer.question, answer.hits):
            pieces.append(piece)
            yield piece
    except LLMError as exc:
        yield fallback(answer, str(exc))
        return
    yield generated_answer(answer, "".join(pieces))


def _client(config: LLMConfig) -> httpx.Client:
    return httpx.Client(timeout=httpx.Timeout(config.timeout, connect=min(config.timeout, 5.0)))


def _headers(config: LLMConfig) -> dict[str, str]:
    return {"Authorization": f"Bearer {config.api_key}"} if config.api_key else {}


def _body(config: LLMConfig, question: str, hits: list[Hit], stream: bool) -> dict[str, Any]:
    return {
        "model": config.model,
        "messages": messages(question, hits),
        "stream": stream,
        "temperature": 0.1,
        "max_tokens": config.max_tokens,
    }


def _sse_piece(line: str) -> str | None:
    """The text in one SSE line: '' for lines without text, None at ``[DONE]``."""
    if not line.startswith("data:"):
        return ""
    data = line[5:].strip()
    if data == "[DONE]":
        return None
    payload = json.loads(data)
    choices = payload.get("choices") if isinstance(payload, dict) else None
    if not choices:
        # Azure's content-filter results and the include_usage total come with no choices.
        return ""
    delta = choices[0].get("delta") or {}
    return str(delta.get("content") or "")


def _describe(exc: Exception, config: LLMConfig) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return f"no answer within {config.timeout:g} s"
    if isinstance(exc, httpx.HTTPStatusError):
        return f"the endpoint answered HTTP {exc.response.status_code}"
    if isinstance(exc, httpx.HTTPError):
        return f"cannot reach {config.endpoint}: {exc}"
    return "the endpoint's response was not a chat completion"
