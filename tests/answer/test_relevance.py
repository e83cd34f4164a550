"""No answer when there is none: a question far from every passage is declined, plainly."""

from __future__ import annotations

from pathlib import Path

import pytest

import answerdb
from answerdb.answer.generate import LLMConfig
from answerdb.answer.relevance import answerable, relevance_floor
from answerdb.cli.main import main
from answerdb.db import AnswerDB
from answerdb.embed import DEFAULT_MODEL, Embedder

from ..kb import CAREERS_QUESTION

OFF_TOPIC = ("How do I bake sourdough bread?", "What causes tides?")


@pytest.mark.parametrize("question", OFF_TOPIC)
def test_an_off_topic_question_is_declined(demo_db: AnswerDB, question: str) -> None:
    answer = demo_db.ask(question)
    assert not answer.answered
    assert answer.text == "" and answer.citations == [] and answer.keep_reading == []
    assert answer.hits  # the nearest articles, offered instead
    assert demo_db.relevance(question) < relevance_floor(DEFAULT_MODEL)


def test_an_answerable_question_is_answered(demo_db: AnswerDB) -> None:
    answer = demo_db.ask(CAREERS_QUESTION)
    assert answer.answered and answer.citations
    assert demo_db.relevance(CAREERS_QUESTION) >= demo_db.min_relevance


def test_the_floor_can_be_moved(demo_kb: Path, minilm: Embedder) -> None:
    with answerdb.open(demo_kb, readonly=True, embedder=minilm, min_relevance=0.0) as db:
        assert db.ask(OFF_TOPIC[0]).answered
    # Above any cosine, even half of it: nothing is answered.
    with answerdb.open(demo_kb, readonly=True, embedder=minilm, min_relevance=2.5) as db:
        assert not db.ask(CAREERS_QUESTION).answered


def test_a_declined_question_is_not_sent_to_the_llm(demo_db: AnswerDB) -> None:
    # An address nothing listens on: asking it would fail and say so in the note.
    llm = LLMConfig(url="http://127.0.0.1:9/v1", model="none")
    answer = demo_db.ask(OFF_TOPIC[0], generate=True, llm=llm)
    assert not answer.answered and not answer.generated and answer.note == ""
    streamed = list(demo_db.ask_stream(OFF_TOPIC[0], llm=llm))
    assert len(streamed) == 2 and all(isinstance(s, answerdb.Answer) for s in streamed)


def test_the_cli_says_so_plainly(demo_kb: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", str(demo_kb), OFF_TOPIC[0]]) == 0
    out = capsys.readouterr().out
    assert "no good answer" in out and "Nearest articles" in out and "[1]" not in out
    assert main(["ask", str(demo_kb), OFF_TOPIC[0], "--json"]) == 0
    assert '"answered": false' in capsys.readouterr().out


def test_below_the_floor_the_questions_own_words_decide() -> None:
    article = "Use setopt to turn on an option, unsetopt to turn it off."
    assert answerable("How do I turn on an option with setopt?", 0.2, 0.35, lambda: article)
    assert not answerable("How do I bake bread?", 0.2, 0.35, lambda: article)
    assert not answerable("How do I turn on setopt?", 0.1, 0.35, lambda: article)  # too far
    assert answerable("anything", 0.4, 0.35, lambda: "")
