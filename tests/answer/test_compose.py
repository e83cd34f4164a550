from __future__ import annotations

import re

from answerdb.answer.compose import ComposeSettings, compose
from answerdb.answer.related import teaser
from answerdb.db import AnswerDB
from answerdb.embed import Embedder
from answerdb.types import Hit


def test_every_sentence_is_cited_and_comes_from_its_passage(demo_db: AnswerDB) -> None:
    for question in (
        "How do autoencoders detect anomalies?",
        "What is reciprocal rank fusion?",
        "How can a RAG system cite its sources?",
    ):
        answer = demo_db.ask(question)
        sources = {c.number: c.hit.text for c in answer.citations}
        parts = re.findall(r"(.+?) \[(\d+)\]", answer.text)
        assert parts, question
        for sentence, number in parts:
            assert sentence.strip() in sources[int(number)], sentence


def test_answer_respects_its_word_budget(minilm: Embedder) -> None:
    text = " ".join(f"Sentence number {i} talks about vector search engines." for i in range(30))
    hits = [Hit(row=0, doc_id="a", text=text, score=1.0)]
    answer, citations = compose("vector search", hits, minilm, ComposeSettings(max_words=20))
    assert len(answer.split()) <= 25
    assert [c.number for c in citations] == [1]


def test_no_hits_no_answer(minilm: Embedder) -> None:
    assert compose("anything", [], minilm) == ("", [])


def test_teaser_is_the_first_sentence_cut_at_a_word() -> None:
    assert teaser("Short one. Second.") == "Short one."
    long = "word " * 60 + "end."
    cut = teaser(long)
    assert cut.endswith("…") and len(cut) <= 161
    assert teaser("What is it?\nIt is this. More.", heading="What is it?") == "It is this."
