"""The splitter: headings, sentence boundaries, passage size and overlap."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from answerdb.errors import InputError
from answerdb.ingest import split_passages
from answerdb.ingest.split import _sections
from answerdb.text import split_sentences
from answerdb.types import Document


def doc(text: str) -> Document:
    return Document(doc_id="d", text=text, source="test")


def sentence(n: int, words: int = 5) -> str:
    return " ".join(f"S{n}w{i}" for i in range(words - 1)) + f" end{n}."


@pytest.mark.parametrize("text", ["", "  \n\n\t  \n"])
def test_empty_text_gives_no_passages(text: str) -> None:
    assert split_passages(doc(text)) == []


def test_short_doc_is_one_passage_with_whitespace_normalised() -> None:
    text = "  First   sentence here.\n\nSecond\tone,\n  on two lines.  "
    assert split_passages(doc(text)) == ["First sentence here. Second one, on two lines."]


def test_heading_starts_a_passage_and_stays_at_its_top() -> None:
    text = "Intro text.\n\n## Setup\n\nRun the installer.\n\n### Options\nPick one."
    assert split_passages(doc(text)) == [
        "Intro text.",
        "Setup\nRun the installer.",
        "Options\nPick one.",
    ]


def test_consecutive_headings_share_a_passage() -> None:
    text = "# Guide\n\n## Start\n\nBegin here.\n\n## End"
    assert split_passages(doc(text)) == ["Guide\nStart\nBegin here.", "End"]


def test_code_lines_are_not_headings() -> None:
    text = "Example:\n\n    # a comment\n    x = 1\n#hashtag is text"
    assert split_passages(doc(text)) == ["Example: # a comment x = 1 #hashtag is text"]


@pytest.mark.parametrize(
    "text",
    [
        "Use a tool, e.g. Python, for this.",
        "That is, i.e. The same thing.",
        "Ask Dr. Smith about it.",
        "Pi is 3.14 and e is 2.72 roughly.",
        "Call os.path.join to build paths.",
        "J. R. Tolkien wrote it in the U.S. Army days.",
        "Steps: 1. Install it. 2. Run it.",
        "He said no. then left.",
        "He said no. élan followed.",
        "Results held in cells. 4. In summary it works.",
    ],
)
def test_sentence_splitter_keeps_abbreviations_and_numbers(text: str) -> None:
    expected = {
        "Steps: 1. Install it. 2. Run it.": ["Steps: 1. Install it.", "2. Run it."],
        "Results held in cells. 4. In summary it works.": [
            "Results held in cells.",
            "4. In summary it works.",
        ],
    }
    assert split_sentences(text) == expected.get(text, [text])


def test_sentence_splitter_splits_at_real_ends() -> None:
    text = 'It works. Does it? Yes! "Quoted end." (Aside.) Next\nline break ends too'
    assert split_sentences(text) == [
        "It works.",
        "Does it?",
        "Yes!",
        '"Quoted end."',
        "(Aside.)",
        "Next",
        "line break ends too",
    ]


def test_passages_respect_max_words_and_overlap_one_sentence() -> None:
    text = " ".join(sentence(n) for n in range(6))  # six sentences of five words
    passages = split_passages(doc(text), max_words=12, overlap_sentences=1)
    assert passages == [
        f"{sentence(0)} {sentence(1)}",
        f"{sentence(1)} {sentence(2)}",
        f"{sentence(2)} {sentence(3)}",
        f"{sentence(3)} {sentence(4)}",
        f"{sentence(4)} {sentence(5)}",
    ]


def test_no_overlap_when_asked() -> None:
    text = " ".join(sentence(n) for n in range(4))
    passages = split_passages(doc(text), max_words=10, overlap_sentences=0)
    assert passages == [f"{sentence(0)} {sentence(1)}", f"{sentence(2)} {sentence(3)}"]


def test_overlap_stays_within_a_section() -> None:
    text = f"{sentence(0)} {sentence(1)}\n## Next\n{sentence(2)}"
    passages = split_passages(doc(text), max_words=10, overlap_sentences=1)
    assert passages == [f"{sentence(0)} {sentence(1)}", f"Next\n{sentence(2)}"]


def test_long_sentence_is_cut_by_words() -> None:
    words = [f"w{i}" for i in range(25)]
    passages = split_passages(doc(" ".join(words)), max_words=10, overlap_sentences=0)
    assert passages == [" ".join(words[:10]), " ".join(words[10:20]), " ".join(words[20:])]


@pytest.mark.parametrize(("max_words", "overlap"), [(0, 1), (10, -1)])
def test_bad_parameters_are_refused(max_words: int, overlap: int) -> None:
    with pytest.raises(InputError, match="max_words"):
        split_passages(doc("Text."), max_words=max_words, overlap_sentences=overlap)


WORD = st.sampled_from(["alpha", "beta", "e.g.", "Dr.", "3.5", "end.", "Why?", "Yes!", "os.path"])
LINE = st.tuples(st.booleans(), st.lists(WORD, min_size=1, max_size=30))


@settings(max_examples=150, deadline=None)
@given(
    lines=st.lists(LINE, max_size=12),
    max_words=st.integers(min_value=1, max_value=40),
    overlap=st.integers(min_value=0, max_value=3),
)
def test_passages_keep_every_word_in_order(
    lines: list[tuple[bool, list[str]]], max_words: int, overlap: int
) -> None:
    text = "\n".join(("## " if heading else "") + " ".join(words) for heading, words in lines)
    passages = split_passages(doc(text), max_words=max_words, overlap_sentences=overlap)
    headings = {" ".join(words) for heading, words in lines if heading}
    for passage in passages:
        body = [line for line in passage.split("\n") if line not in headings]
        assert len(" ".join(body).split()) <= max_words
    if overlap == 0:
        assert " ".join(passages).split() == [w for _, words in lines for w in words]


PIECES = ["word", "Dr.", "e.g.", "end.", "Why?", "Yes!", "U.S.", "(a).", "3.", " ", "\t", "\n"]
PIECES += ["\n\n", "\n# Heading\n", "#tag", "\u00a0", "Quote.\u201d", "next"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=60), st.integers(min_value=1, max_value=40))
def test_a_short_text_takes_the_one_passage_path_with_the_same_result(
    pieces: list[str], max_words: int
) -> None:
    text = " ".join(pieces)
    by_sentences = [p for section in _sections(text) for p in section.pack(max_words, 1)]
    assert split_passages(doc(text), max_words=max_words) == by_sentences


# -- Markdown blocks ----------------------------------------------------------------------
CODE = "```python\n# a comment, not a heading\nx = 1\n\ny = 2\n```"


def test_a_hash_line_in_a_code_block_is_code_not_a_heading() -> None:
    text = f"## Setup\n\nRun this.\n\n{CODE}\n\nThen stop."
    assert split_passages(doc(text)) == [
        "Setup\nRun this. ```python # a comment, not a heading x = 1 y = 2 ``` Then stop."
    ]


def test_a_code_block_or_table_moves_whole_to_the_next_passage() -> None:
    table = "| port | high water |\n| --- | --- |\n| Brest | 06:10 |"
    for block in (CODE, table):
        passages = split_passages(doc(f"{sentence(1, 8)}\n\n{block}"), 20, 0)
        assert passages == [sentence(1, 8), " ".join(block.split())]


def test_a_long_code_block_is_cut_between_lines_and_each_piece_fenced() -> None:
    code = "~~~sh\n" + "\n".join(f"step {n} now" for n in range(6)) + "\n~~~"
    assert split_passages(doc(f"## Run\n{code}"), 8, 0) == [
        "Run\n~~~sh step 0 now step 1 now ~~~",
        "~~~ step 2 now step 3 now ~~~",
        "~~~ step 4 now step 5 now ~~~",
    ]
