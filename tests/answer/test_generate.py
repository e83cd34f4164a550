"""LLM answers against the loopback chat-completions server in tests/server/fake_llm.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from answerdb.answer.generate import LLMConfig, check_citations, messages, stream
from answerdb.db import AnswerDB
from answerdb.errors import InputError
from answerdb.types import Answer, Hit

from ..kb import CAREERS_QUESTION
from ..server.fake_llm import FakeLLM, running


@pytest.fixture
def llm() -> Iterator[FakeLLM]:
    with running() as server:
        yield server


def config(server: FakeLLM, timeout: float = 10.0) -> LLMConfig:
    return LLMConfig(url=server.url, model="fake", api_key="k", timeout=timeout)


def test_prompt_numbers_the_passages_and_asks_for_citations() -> None:
    hits = [Hit(row=i, doc_id=f"d{i}", text=f"text {i}", score=1.0, heading="H") for i in range(3)]
    system, user = messages("Why?", hits)
    assert "[n]" in system["content"]
    assert "[1] H\ntext 0" in user["content"] and "[3] H\ntext 2" in user["content"]
    assert user["content"].rstrip().endswith("Answer with citations [n]:")


def test_unknown_citations_are_removed_and_listed() -> None:
    checked = check_citations("A [1]. B [7]. C [2][9].", passages=2)
    assert checked.text == "A [1]. B. C [2]."
    assert checked.cited == [1, 2] and checked.unknown == [7, 9]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("This is covered in passage [7] and [8].", "This is covered."),
        ("See passages [1] and [9] for more.", "See passage [1] for more."),
        ("Models [9] are trained (see [8]).", "Models are trained."),
        ("Tides [9] rise [1][2].", "Tides rise [1][2]."),
    ],
)
def test_unknown_citations_leave_no_words_behind(text: str, expected: str) -> None:
    assert check_citations(text, passages=2).text == expected


def test_stream_skips_chunks_without_choices(llm: FakeLLM) -> None:
    # The fake sends Azure's prompt-filter chunk first and a usage chunk last, both choices: [].
    hits = [Hit(row=0, doc_id="d", text="t", score=1.0)]
    assert "".join(stream(config(llm), "q", hits)).strip() == llm.reply


def test_generated_answer_cites_the_hits(demo_db: AnswerDB, llm: FakeLLM) -> None:
    answer = demo_db.ask(CAREERS_QUESTION, generate=True, llm=config(llm))
    assert answer.generated and not answer.note
    assert answer.text == llm.reply
    assert [c.number for c in answer.citations] == [1, 2]
    assert answer.citations[0].hit == answer.hits[0]
    request = llm.requests[-1]
    assert request["auth"] == "Bearer k" and request["body"]["model"] == "fake"
    assert answer.hits[0].text in request["body"]["messages"][1]["content"]


def test_invented_citation_is_flagged(demo_db: AnswerDB, llm: FakeLLM) -> None:
    llm.reply = "Engineers train models [1]. Nobody said this [42]."
    answer = demo_db.ask(CAREERS_QUESTION, generate=True, llm=config(llm))
    assert "[42]" not in answer.text and "[1]" in answer.text
    assert "[42]" in answer.note


@pytest.mark.parametrize("behaviour", ["error", "garbled"])
def test_failure_falls_back_to_the_extractive_answer(
    demo_db: AnswerDB, llm: FakeLLM, behaviour: str
) -> None:
    llm.behaviour = behaviour
    extractive = demo_db.ask(CAREERS_QUESTION)
    answer = demo_db.ask(CAREERS_QUESTION, generate=True, llm=config(llm))
    assert not answer.generated and answer.text == extractive.text
    assert "extractive answer" in answer.note


def test_timeout_falls_back_with_a_note(demo_db: AnswerDB, llm: FakeLLM) -> None:
    llm.behaviour = "slow"
    answer = demo_db.ask(CAREERS_QUESTION, generate=True, llm=config(llm, timeout=0.5))
    assert not answer.generated and "no answer within 0.5 s" in answer.note


def test_unreachable_endpoint_falls_back(demo_db: AnswerDB) -> None:
    dead = LLMConfig(url="http://127.0.0.1:9/v1", model="m", timeout=2)
    answer = demo_db.ask(CAREERS_QUESTION, generate=True, llm=dead)
    assert not answer.generated and "cannot reach" in answer.note


def test_stream_yields_pieces_then_the_checked_answer(demo_db: AnswerDB, llm: FakeLLM) -> None:
    events = list(demo_db.ask_stream(CAREERS_QUESTION, llm=config(llm)))
    first, *pieces, last = events
    assert isinstance(first, Answer) and not first.generated
    assert all(isinstance(p, str) for p in pieces) and len(pieces) > 3
    assert "".join(str(p) for p in pieces).strip() == llm.reply
    assert isinstance(last, Answer) and last.generated and last.text == llm.reply


def test_stream_failure_ends_with_the_fallback(demo_db: AnswerDB, llm: FakeLLM) -> None:
    llm.behaviour = "error"
    events = list(demo_db.ask_stream(CAREERS_QUESTION, llm=config(llm)))
    assert len(events) == 2 and isinstance(events[-1], Answer)
    assert "HTTP 500" in events[-1].note


def test_stream_client_reads_sse(llm: FakeLLM) -> None:
    hits = [Hit(row=0, doc_id="d", text="t", score=1.0)]
    assert "".join(stream(config(llm), "q", hits)).strip() == llm.reply


def test_config_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANSWERDB_LLM_URL", "http://127.0.0.1:1/v1")
    monkeypatch.setenv("ANSWERDB_LLM_MODEL", "m")
    monkeypatch.setenv("ANSWERDB_LLM_API_KEY", "secret")
    found = LLMConfig.from_env()
    assert found is not None and found.endpoint == "http://127.0.0.1:1/v1/chat/completions"
    assert found.model == "m" and found.api_key == "secret"
    assert LLMConfig.from_env(url="http://x/v1/chat/completions").endpoint.count("chat") == 1


def test_generate_without_llm_is_an_input_error(
    demo_db: AnswerDB, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ANSWERDB_LLM_URL", raising=False)
    with pytest.raises(InputError, match="ANSWERDB_LLM_URL"):
        demo_db.ask(CAREERS_QUESTION, generate=True)
