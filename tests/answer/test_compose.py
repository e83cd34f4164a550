from __future__ import annotations

import re
from dataclasses import replace

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


def test_answer_respects_its_word_budget(static_model: Embedder) -> None:
    text = " ".join(f"Sentence number {i} talks about vector search engines." for i in range(30))
    hits = [Hit(row=0, doc_id="a", text=text, score=1.0)]
    answer, citations = compose(
        "vector search", hits, static_model, None, ComposeSettings(max_words=20)
    )
    assert len(answer.split()) <= 25
    assert [c.number for c in citations] == [1]


def test_no_hits_no_answer(static_model: Embedder) -> None:
    assert compose("anything", [], static_model) == ("", [])


def _hit(doc_id: str, text: str, row: int) -> Hit:
    return Hit(row=row, doc_id=doc_id, text=text, score=1.0, heading=doc_id)


def test_the_answer_comes_from_the_best_article(static_model: Embedder) -> None:
    best = _hit(
        "rag",
        "Retrieval-augmented generation grounds a model in passages it retrieves. "
        "It cites them so readers can check.",
        0,
    )
    other = _hit(
        "index",
        "An index holds the vectors of passages for fast lookups. Indexes are rebuilt every night.",
        1,
    )
    answer, citations = compose(
        "What is retrieval-augmented generation?", [best, other], static_model
    )
    assert {c.hit.doc_id for c in citations} == {"rag"}
    assert answer.startswith("Retrieval-augmented generation grounds")


def test_another_article_adds_a_sentence_only_when_it_answers_better(
    static_model: Embedder,
) -> None:
    best = _hit("a", "Tides are studied by oceanographers around the world for many reasons.", 0)
    other = _hit("b", "Tides are caused by the gravitational pull of the Moon and the Sun.", 1)
    answer, citations = compose(
        "What causes tides? The Moon's gravitational pull?", [best, other], static_model
    )
    assert [c.hit.doc_id for c in citations] == ["a", "b"]
    assert answer.index("oceanographers") < answer.index("gravitational")  # reading order


def test_the_whole_article_is_searched_for_the_answer(static_model: Embedder) -> None:
    lead = _hit("a", "Ocelots are wild cats that live in the Americas.", 3)
    later = Hit(
        row=4,
        doc_id="a",
        text="Ocelots hunt rabbits, rodents and fish at night.",
        score=0.0,
        heading="a",
        ordinal=1,
    )
    answer, citations = compose(
        "What do ocelots hunt at night?", [lead], static_model, lambda hit: [lead, later]
    )
    assert "rabbits" in answer and citations[0].hit.row in (3, 4)
    assert any(c.hit.row == 4 for c in citations)


def test_a_second_article_retrieved_far_below_the_first_adds_nothing(
    static_model: Embedder,
) -> None:
    best = _hit("a", "Tides are studied by oceanographers around the world for many reasons.", 0)
    other = _hit("b", "Tides are caused by the gravitational pull of the Moon and the Sun.", 1)
    tail = [_hit(f"t{i}", f"Unrelated passage number {i} about cooking.", 2 + i) for i in range(3)]
    ranked = [replace(best, score=3.0), replace(other, score=1.2)]
    ranked += [replace(hit, score=1.0) for hit in tail]  # the second scores 0.1 on the scale
    _, citations = compose(
        "What causes tides? The Moon's gravitational pull?", ranked, static_model
    )
    assert [c.hit.doc_id for c in citations] == ["a"]


def test_a_sentence_holding_a_bracketed_number_is_left_out(static_model: Embedder) -> None:
    hit = _hit(
        "lists",
        "Appending to y changes x too: >>> y.append(10) >>> x [10] as both name one list. "
        "Lists are mutable, so every name bound to a list sees the appended items.",
        0,
    )
    answer, _ = compose("Why did appending to list y change list x?", [hit], static_model)
    assert "[10]" not in answer
    assert answer.startswith("Lists are mutable")


def test_an_article_of_one_short_sentence_still_answers(static_model: Embedder) -> None:
    best = _hit("unicode", "See the unicode-howto.", 0)
    other = _hit("strings", "Strings are immutable, so a string cannot be changed in place.", 1)
    answer, citations = compose("What does UnicodeDecodeError mean?", [best, other], static_model)
    assert citations[0].hit.doc_id == "unicode"
    assert answer.startswith("See the unicode-howto. [1]")


def test_a_later_sentence_wins_a_tie_with_an_earlier_one(static_model: Embedder) -> None:
    text = (
        "Coffee drinkers were followed for ten years. Coffee drinkers were followed for ten years!"
    )
    hit = _hit("study", text, 0)
    answer, _ = compose(
        "Were coffee drinkers followed?",
        [hit],
        static_model,
        settings=ComposeSettings(max_sentences=1),
    )
    assert answer == "Coffee drinkers were followed for ten years! [1]"


MARKDOWN_PASSAGE = (
    "Tide height\n```python tide_height = set_tide_height(tide) # set the tide height ``` "
    "| tide | height | | --- | --- | | set the tide | height of the tide | "
    "- set the tide height daily in the harbour log. "
    "The harbour master sets the tide height each morning from the gauge."
)


def test_an_answer_never_quotes_code_a_table_row_or_a_list_marker(
    static_model: Embedder,
) -> None:
    hit = _hit("tides", MARKDOWN_PASSAGE, 0)
    answer, _ = compose("How do I set the tide height?", [hit], static_model)
    assert answer.startswith("set the tide height daily in the harbour log. [1]")
    assert "```" not in answer and "|" not in answer and "tide_height" not in answer
    assert "The harbour master sets the tide height" in answer


def test_teaser_is_the_first_sentence_cut_at_a_word() -> None:
    assert teaser("Short one. Second.") == "Short one."
    long = "word " * 60 + "end."
    cut = teaser(long)
    assert cut.endswith("…") and len(cut) <= 161
    assert teaser("What is it?\nIt is this. More.", heading="What is it?") == "It is this."


def test_teaser_starts_with_prose_not_markdown() -> None:
    text = (
        "# Tides\n\n```sh\ntide --now\n```\n\n| a | b |\n| - | - |\n| 1 | 2 |\n\n"
        "- Read **the** [table](https://example.org) at `noon`. Then sail.\n"
    )
    assert teaser(text, heading="Tides") == "Read the table at noon."
